CREATE TABLE "email_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"recipient" text NOT NULL,
	"user_id" uuid,
	"notification_kind" text,
	"project_id" uuid,
	"subject" text NOT NULL,
	"text_body" text NOT NULL,
	"html_body" text,
	"dedupe_key" text,
	"status" text DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notification_preferences" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"project_id" uuid,
	"enabled" boolean NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_preferences_key" UNIQUE NULLS NOT DISTINCT("user_id","kind","project_id")
);
--> statement-breakpoint
CREATE TABLE "notification_queue" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"event_id" bigint,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"pipeline_id" uuid,
	"release_id" uuid,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_outbox" ADD CONSTRAINT "email_outbox_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_preferences" ADD CONSTRAINT "notification_preferences_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "email_outbox_dedupe_key" ON "email_outbox" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "email_outbox_due_idx" ON "email_outbox" USING btree ("next_attempt_at") WHERE status = 'PENDING';--> statement-breakpoint
CREATE INDEX "email_outbox_status_idx" ON "email_outbox" USING btree ("status","created_at");--> statement-breakpoint
-- The events that can owe someone an email are copied into notification_queue by the same insert,
-- so a notification exists exactly when its cause committed (the engine's batches need no change).
CREATE FUNCTION "pipeline_events_to_notification_queue"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "notification_queue" ("source", "event_id", "organization_id", "project_id", "pipeline_id", "release_id", "payload")
  VALUES (NEW."kind", NEW."id", NEW."organization_id", NEW."project_id", NEW."pipeline_id", NEW."release_id", NEW."payload");
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "pipeline_events_notify" AFTER INSERT ON "pipeline_events" FOR EACH ROW
  WHEN ((NEW."kind" = 'node.status_changed' AND NEW."payload"->>'status' IN ('APPROVAL_PENDING', 'WAITING'))
     OR (NEW."kind" = 'pipeline.status_changed' AND (NEW."payload"->>'status' IN ('APPROVAL_PENDING', 'FAILED')
       OR (NEW."release_id" IS NOT NULL AND NEW."payload"->>'status' IN ('SUCCEEDED', 'CANCELED')))))
  EXECUTE FUNCTION "pipeline_events_to_notification_queue"();
