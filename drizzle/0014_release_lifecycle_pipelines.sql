ALTER TABLE "pipelines" DROP CONSTRAINT "pipelines_nested_parent";--> statement-breakpoint
ALTER TABLE "pipelines" ALTER COLUMN "pipeline_template_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "pipelines" ADD COLUMN "lifecycle_version_id" uuid;--> statement-breakpoint
CREATE INDEX "pipelines_release_idx" ON "pipelines" USING btree ("release_id");--> statement-breakpoint
CREATE INDEX "pipelines_environment_idx" ON "pipelines" USING btree ("project_id","environment_name","created_at");--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_template" CHECK (("pipelines"."type" = 'RELEASE_LIFECYCLE') = ("pipelines"."pipeline_template_id" is null));--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_nested_parent" CHECK (case "pipelines"."type" when 'NESTED' then "pipelines"."parent_pipeline_id" is not null and "pipelines"."parent_node_id" is not null when 'DEPLOYMENT' then ("pipelines"."parent_pipeline_id" is null) = ("pipelines"."parent_node_id" is null) else "pipelines"."parent_pipeline_id" is null and "pipelines"."parent_node_id" is null end);