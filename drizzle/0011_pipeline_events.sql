CREATE TABLE "pipeline_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"pipeline_id" uuid,
	"job_id" uuid,
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"published_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "pipeline_events" ADD CONSTRAINT "pipeline_events_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pipeline_events_project_idx" ON "pipeline_events" USING btree ("project_id","id");--> statement-breakpoint
CREATE INDEX "pipeline_events_pipeline_idx" ON "pipeline_events" USING btree ("pipeline_id","id");--> statement-breakpoint
CREATE INDEX "pipeline_events_unpublished_idx" ON "pipeline_events" USING btree ("id") WHERE published_at is null;