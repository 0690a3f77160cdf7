-- The K best channels to show each user of a batch (:lo to :hi) when live: followed
-- channels, co-viewing, and popular channels of the categories they watch.
INSERT INTO recommended_streams_next (user_id, channel_id, score, reason, detail)
SELECT user_id, channel_id, score, reason, detail FROM (
  SELECT best.*, row_number() OVER (PARTITION BY user_id ORDER BY score DESC, channel_id) AS rank
  FROM (
    SELECT DISTINCT ON (user_id, channel_id) user_id, channel_id, score, reason, detail FROM (
      SELECT r.follower_id AS user_id, r.followed_id AS channel_id,
             CAST(:follow_score AS float8) AS score, 'follow' AS reason, NULL AS detail
      FROM user_relationships r JOIN rec_work.rec_users u ON u.user_id = r.follower_id
      WHERE u.n BETWEEN :lo AND :hi
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
    ORDER BY user_id, channel_id, score DESC
  ) best
) ranked WHERE rank <= :k
