-- Every user numbered in UUID order (a channel is a user): the numbers the model works in.
CREATE UNLOGGED TABLE rec_work.rec_ids AS
       SELECT id, (row_number() OVER (ORDER BY id) - 1)::int4 AS n FROM users;

-- Without statistics the planner guesses this table large and sorts the follows to join it.
ANALYZE rec_work.rec_ids;

-- Each channel's category (what most of its streams were), the categories numbered by
-- name, and the most popular channels of each (followers, and viewers counted twice).
CREATE UNLOGGED TABLE rec_work.rec_channel_category AS
       SELECT DISTINCT ON (s.user_id) s.user_id AS channel_id, m.category
       FROM live_streams s JOIN stream_metadata m ON m.stream_id = s.id
       WHERE m.category IS NOT NULL
       GROUP BY s.user_id, m.category
       ORDER BY s.user_id, count(*) DESC, max(s.created_at) DESC;

CREATE UNLOGGED TABLE rec_work.rec_categories AS
       SELECT category, (row_number() OVER (ORDER BY category) - 1)::int4 AS k
       FROM (SELECT DISTINCT category FROM rec_work.rec_channel_category) known;

CREATE UNLOGGED TABLE rec_work.rec_category_top AS
       SELECT channel_id, category, rank FROM (
         SELECT c.channel_id, c.category,
                row_number() OVER (PARTITION BY c.category
                                   ORDER BY u.followers_count + 2 * coalesce(w.viewers, 0) DESC,
                                            c.channel_id) AS rank
         FROM rec_work.rec_channel_category c JOIN users u ON u.id = c.channel_id
         LEFT JOIN (SELECT channel_id, count(*) AS viewers FROM channel_views GROUP BY 1) w
           ON w.channel_id = c.channel_id) ranked
       WHERE rank <= 15;
