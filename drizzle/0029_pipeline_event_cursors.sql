CREATE TABLE "pipeline_event_cursors" (
	"project_id" uuid PRIMARY KEY NOT NULL,
	"published_through" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "pipeline_events_unpublished_idx";--> statement-breakpoint
ALTER TABLE "pipeline_event_cursors" ADD CONSTRAINT "pipeline_event_cursors_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Each project's cursor stops below its first unpublished row (the cron sweep publishes from there),
-- or at its last row when all were published.
INSERT INTO "pipeline_event_cursors" ("project_id", "published_through")
SELECT "project_id", coalesce(min("id") FILTER (WHERE "published_at" IS NULL) - 1, max("id"))
FROM "pipeline_events" GROUP BY "project_id";--> statement-breakpoint
ALTER TABLE "pipeline_events" DROP COLUMN "published_at";