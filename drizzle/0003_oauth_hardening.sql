ALTER TABLE "service_account_trust_policies" ADD COLUMN "audience" text;--> statement-breakpoint
ALTER TABLE "authorization_codes" ADD COLUMN "session_id" uuid;--> statement-breakpoint
ALTER TABLE "authorization_codes" ADD COLUMN "replayed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD COLUMN "successor_seed" text;--> statement-breakpoint
ALTER TABLE "authorization_codes" ADD CONSTRAINT "authorization_codes_session_id_user_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."user_sessions"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
-- Policies written before trust policies named an audience often bound `aud` as a claim: that value
-- becomes their audience, so they keep accepting the tokens they accepted. Others get the default
-- (null: the Phobos token issuer URL).
UPDATE "service_account_trust_policies" SET "audience" = "bound_claims"->>'aud' WHERE jsonb_typeof("bound_claims"->'aud') = 'string';--> statement-breakpoint
-- Sign-in throttle counters are now keyed per account and per account and address; the old
-- per-login counters would never be read again.
DELETE FROM "login_throttle";
