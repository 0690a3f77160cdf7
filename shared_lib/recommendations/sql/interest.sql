-- What each user is interested in: watch time, and a follow counting as five minutes;
-- their strongest interests, their total, the categories they watch, and a numbering of
-- users to batch by.
CREATE UNLOGGED TABLE rec_work.rec_interest AS
       SELECT user_id, channel_id, (watch_seconds + 60)::float8 AS weight FROM channel_views
       UNION ALL
       SELECT follower_id, followed_id, 300::float8 FROM user_relationships;

CREATE UNLOGGED TABLE rec_work.rec_interest_top AS
       SELECT user_id, channel_id, weight FROM (
         SELECT user_id, channel_id, weight,
                row_number() OVER (PARTITION BY user_id ORDER BY weight DESC, channel_id) AS rank
         FROM rec_work.rec_interest) ranked WHERE rank <= 8;

CREATE INDEX ON rec_work.rec_interest_top (user_id);

CREATE UNLOGGED TABLE rec_work.rec_interest_total AS
       SELECT user_id, sum(weight) AS weight FROM rec_work.rec_interest GROUP BY 1;

CREATE UNIQUE INDEX ON rec_work.rec_interest_total (user_id);

CREATE UNLOGGED TABLE rec_work.rec_user_category AS
       SELECT user_id, category, share FROM (
         SELECT i.user_id, c.category,
                sum(i.weight) / sum(sum(i.weight)) OVER (PARTITION BY i.user_id) AS share,
                row_number() OVER (PARTITION BY i.user_id ORDER BY sum(i.weight) DESC,
                                   c.category) AS rank
         FROM rec_work.rec_interest i
         JOIN rec_work.rec_channel_category c ON c.channel_id = i.channel_id
         GROUP BY i.user_id, c.category) ranked
       WHERE rank <= 2;

CREATE INDEX ON rec_work.rec_user_category (user_id);

CREATE UNLOGGED TABLE rec_work.rec_users AS
       SELECT user_id, row_number() OVER (ORDER BY user_id) AS n
       FROM rec_work.rec_interest_total;

CREATE INDEX ON rec_work.rec_users (n);
