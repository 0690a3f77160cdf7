-- The K best channels for each user of a batch (:lo to :hi) to follow: channels whose
-- audience overlaps with what they follow and watch, friends of friends (with their mutual
-- count), and popular channels of their categories, a channel found more ways than one
-- scoring the sum; never one followed.
INSERT INTO recommended_users_next (user_id, channel_id, score, reason, detail)
SELECT user_id, channel_id, score, reason, detail FROM (
  SELECT best.*, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, channel_id) AS rank
  FROM (
    SELECT user_id, channel_id, sum(score) AS score,
           (array_agg(reason ORDER BY score DESC))[1] AS reason,
           (array_agg(detail ORDER BY score DESC))[1] AS detail FROM (
      SELECT r1.follower_id AS user_id, r2.followed_id AS channel_id,
             (CAST(:fof_score AS float8) * count(*)) AS score,
             'fof' AS reason, count(*)::text AS detail
      FROM user_relationships r1 JOIN rec_work.rec_users u ON u.user_id = r1.follower_id
      JOIN user_relationships r2 ON r2.follower_id = r1.followed_id
      WHERE u.n BETWEEN :lo AND :hi
      GROUP BY r1.follower_id, r2.followed_id
      UNION ALL
      SELECT i.user_id, s.b, CAST(:coview_score AS float8) * sum(s.similarity * i.weight)
                             / max(total.weight), 'coview', NULL
      FROM rec_work.rec_interest_top i JOIN rec_work.rec_users u ON u.user_id = i.user_id
      JOIN rec_work.rec_similar s ON s.a = i.channel_id
      JOIN rec_work.rec_interest_total total ON total.user_id = i.user_id
      WHERE u.n BETWEEN :lo AND :hi
      GROUP BY i.user_id, s.b
      UNION ALL
      SELECT c.user_id, t.channel_id, CAST(:category_score AS float8) * c.share / t.rank,
             'category', t.category
      FROM rec_work.rec_user_category c JOIN rec_work.rec_users u ON u.user_id = c.user_id
      JOIN rec_work.rec_category_top t ON t.category = c.category
      WHERE u.n BETWEEN :lo AND :hi
    ) candidates
    WHERE candidates.channel_id <> candidates.user_id
      AND NOT EXISTS (SELECT 1 FROM user_relationships f
                      WHERE f.follower_id = candidates.user_id
                        AND f.followed_id = candidates.channel_id)
    GROUP BY user_id, channel_id
  ) best
) ranked WHERE rank <= :k
