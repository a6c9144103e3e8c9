-- Migrates a registry database the APTrust DAGs ran on before issue #14 off the DAGs' former own
-- tables: the outbox public.emails (+ work_items.notification_email_id) and public.bulk_delete_jobs
-- (+ bulk_delete_job_items). Apply it after registry.sql (which creates deletion_requests,
-- dag_deletion_requests, the alert tables and work_items.deletion_request_id), with the APTrust
-- DAGs paused; docs/aptrust.md, "Migrating a deployment off the former emails/bulk_delete_jobs".
--
-- * each former bulk deletion job -> one confirmed deletion_requests row (people by registry email;
--   no user: NULL), its objects and files, work_items.deletion_request_id on its Delete WorkItems,
--   and its dag_deletion_requests row (same run key), so a cleared run finds it;
-- * each former email -> the alert it now is (restore_digest: Restoration Completed,
--   deletion_confirmation: Deletion Confirmed) with its WorkItems linked (so a notified restore stays
--   notified), its recipients that are registry users (sent_at as the email's; a refused one, or every
--   one of an email given up on, in dag_alert_delivery_errors), and its dag_alerts row (an unsent one
--   is sent by the next send task: the outbox carries over);
-- * then the former tables and column are dropped.
--
-- The former tables are recognised by columns Pharos's tables of the same names lack
-- (emails.work_item_ids, bulk_delete_jobs.request_key): Pharos's legacy emails and
-- bulk_delete_jobs are never read or dropped here (aptrust_legacy_pharos_archive keeps them).
-- Idempotent: one transaction; once the former tables are gone it does nothing.

BEGIN;

DO $migration$
DECLARE
    job record;
    mail record;
    new_request_id bigint;
    new_alert_id bigint;
BEGIN
    CREATE TEMP TABLE migrated_confirmations (email_id bigint PRIMARY KEY, deletion_request_id bigint, run_key text)
        ON COMMIT DROP;

    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = 'bulk_delete_jobs' AND column_name = 'request_key') THEN
        FOR job IN
            SELECT j.* FROM public.bulk_delete_jobs j
            WHERE NOT EXISTS (SELECT 1 FROM dag_deletion_requests d WHERE d.request_key = j.request_key)
            ORDER BY j.id
        LOOP
            -- no token was ever issued: a value no token's bcrypt check can match
            INSERT INTO deletion_requests (institution_id, requested_by_id, requested_at, encrypted_confirmation_token,
                                           confirmed_by_id, confirmed_at)
            VALUES (job.institution_id,
                    (SELECT u.id FROM users u WHERE lower(u.email) = lower(job.requested_by) ORDER BY u.id LIMIT 1),
                    job.created_at,
                    '!migrated from the DAGs'' bulk_delete_jobs: no confirmation token',
                    (SELECT u.id FROM users u WHERE lower(u.email) = lower(job.approved_by) ORDER BY u.id LIMIT 1),
                    job.created_at)
            RETURNING id INTO new_request_id;
            INSERT INTO deletion_requests_intellectual_objects (deletion_request_id, intellectual_object_id)
            SELECT DISTINCT new_request_id, w.intellectual_object_id
            FROM public.bulk_delete_job_items i JOIN work_items w ON w.id = i.work_item_id
            WHERE i.job_id = job.id AND w.generic_file_id IS NULL AND w.intellectual_object_id IS NOT NULL
            ON CONFLICT DO NOTHING;
            INSERT INTO deletion_requests_generic_files (deletion_request_id, generic_file_id)
            SELECT DISTINCT new_request_id, w.generic_file_id
            FROM public.bulk_delete_job_items i JOIN work_items w ON w.id = i.work_item_id
            WHERE i.job_id = job.id AND w.generic_file_id IS NOT NULL
            ON CONFLICT DO NOTHING;
            UPDATE work_items w SET deletion_request_id = new_request_id
            FROM public.bulk_delete_job_items i WHERE i.job_id = job.id AND w.id = i.work_item_id;
            INSERT INTO dag_deletion_requests (request_key, deletion_request_id) VALUES (job.request_key, new_request_id);
            IF job.confirmation_email_id IS NOT NULL THEN
                INSERT INTO migrated_confirmations VALUES (job.confirmation_email_id, new_request_id, job.request_key);
            END IF;
        END LOOP;
        DROP TABLE public.bulk_delete_job_items;
        DROP TABLE public.bulk_delete_jobs;
    END IF;

    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = 'public' AND table_name = 'emails' AND column_name = 'work_item_ids') THEN
        FOR mail IN SELECT e.* FROM public.emails e ORDER BY e.id LOOP
            INSERT INTO alerts (institution_id, type, subject, content, deletion_request_id, created_at)
            VALUES (mail.institution_id,
                    CASE mail.email_type WHEN 'restore_digest' THEN 'Restoration Completed' ELSE 'Deletion Confirmed' END,
                    mail.subject, mail.body,
                    (SELECT c.deletion_request_id FROM migrated_confirmations c WHERE c.email_id = mail.id),
                    mail.created_at)
            RETURNING id INTO new_alert_id;
            INSERT INTO alerts_work_items (alert_id, work_item_id)
            SELECT new_alert_id, w.id FROM work_items w
            WHERE w.id = ANY(mail.work_item_ids) OR w.notification_email_id = mail.id
            ON CONFLICT DO NOTHING;
            INSERT INTO alerts_users (alert_id, user_id, sent_at)
            SELECT DISTINCT ON (u.id) new_alert_id, u.id,
                   CASE WHEN lower(r.address) = ANY(SELECT lower(x) FROM unnest(mail.refused_recipients) x)
                        THEN NULL ELSE mail.sent_at END
            FROM unnest(mail.recipients) r(address) JOIN users u ON lower(u.email) = lower(r.address)
            ON CONFLICT DO NOTHING;
            -- refused by the server, or the whole email given up on: recorded, not retried (as before)
            INSERT INTO dag_alert_delivery_errors (alert_id, user_id, error)
            SELECT au.alert_id, au.user_id, coalesce(mail.error, 'refused by the SMTP server (before the migration)')
            FROM alerts_users au
            WHERE au.alert_id = new_alert_id AND au.sent_at IS NULL AND (mail.error IS NOT NULL OR mail.sent_at IS NOT NULL)
            ON CONFLICT DO NOTHING;
            INSERT INTO dag_alerts (alert_id, dag_id, dag_run_id, type, audience, created_at)
            SELECT new_alert_id,
                   CASE mail.email_type WHEN 'restore_digest' THEN 'aptrust_restore_notifications' ELSE 'aptrust_bulk_delete' END,
                   coalesce((SELECT substr(c.run_key, strpos(c.run_key, '/') + 1) FROM migrated_confirmations c
                             WHERE c.email_id = mail.id), 'migrated:emails/' || mail.id),
                   a.type, 'institution', mail.created_at
            FROM alerts a WHERE a.id = new_alert_id;
        END LOOP;
        DROP INDEX IF EXISTS work_items_restores_to_notify;
        ALTER TABLE work_items DROP COLUMN notification_email_id;
        DROP TABLE public.emails;
    END IF;
END
$migration$;

COMMIT;
