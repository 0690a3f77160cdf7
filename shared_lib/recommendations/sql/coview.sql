-- Co-viewing: channels whose audiences overlap (cosine), from each user's 20 strongest
-- interests (watch time, a follow counting as five minutes); the 10 most similar per channel.
CREATE UNLOGGED TABLE rec_work.rec_viewing AS
       SELECT user_id, channel_id FROM (
         SELECT user_id, channel_id, row_number() OVER (PARTITION BY user_id
                                                        ORDER BY sum(weight) DESC) AS rank
         FROM (SELECT user_id, channel_id, watch_seconds + 60 AS weight FROM channel_views
               UNION ALL
               SELECT follower_id, followed_id, 300 FROM user_relationships) interest
         GROUP BY user_id, channel_id) ranked WHERE rank <= 20;

CREATE UNLOGGED TABLE rec_work.rec_audience AS
       SELECT channel_id, count(*)::float AS viewers FROM rec_work.rec_viewing GROUP BY 1;

CREATE UNLOGGED TABLE rec_work.rec_similar AS
       SELECT a, b, similarity FROM (
         SELECT pairs.a, pairs.b, pairs.common / sqrt(na.viewers * nb.viewers) AS similarity,
                row_number() OVER (PARTITION BY pairs.a ORDER BY pairs.common DESC, pairs.b) AS rank
         FROM (SELECT x.channel_id AS a, y.channel_id AS b, count(*) AS common
               FROM rec_work.rec_viewing x JOIN rec_work.rec_viewing y
                 ON y.user_id = x.user_id AND y.channel_id <> x.channel_id
               GROUP BY 1, 2) pairs
         JOIN rec_work.rec_audience na ON na.channel_id = pairs.a
         JOIN rec_work.rec_audience nb ON nb.channel_id = pairs.b) ranked
       WHERE rank <= 10;

CREATE INDEX ON rec_work.rec_similar (a);
