-- Fresh statistics on the work tables before the batches read them.
ANALYZE rec_work.rec_interest, rec_work.rec_interest_top, rec_work.rec_similar, rec_work.rec_users, rec_work.rec_user_category, rec_work.rec_category_top;
