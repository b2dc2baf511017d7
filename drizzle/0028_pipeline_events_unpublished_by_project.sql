DROP INDEX "pipeline_events_unpublished_idx";--> statement-breakpoint
CREATE INDEX "pipeline_events_unpublished_idx" ON "pipeline_events" USING btree ("project_id","id") WHERE published_at is null;