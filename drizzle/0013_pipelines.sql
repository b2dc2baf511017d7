CREATE TABLE "pipelines" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"pipeline_template_id" uuid NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'CREATED' NOT NULL,
	"environment_name" text,
	"root_pipeline_id" uuid NOT NULL,
	"parent_pipeline_id" uuid,
	"parent_node_id" uuid,
	"release_id" uuid,
	"template" jsonb NOT NULL,
	"variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"sensitive_variables" text,
	"annotations" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"approval_rule_ids" uuid[] DEFAULT '{}' NOT NULL,
	"trigger" jsonb NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "pipelines_environment" CHECK (("pipelines"."type" = 'DEPLOYMENT') = ("pipelines"."environment_name" is not null)),
	CONSTRAINT "pipelines_nested_parent" CHECK (("pipelines"."type" = 'NESTED') = ("pipelines"."parent_pipeline_id" is not null and "pipelines"."parent_node_id" is not null))
);
--> statement-breakpoint
CREATE TABLE "pipeline_nodes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"parent_node_id" uuid,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"path" text NOT NULL,
	"position" integer NOT NULL,
	"status" text DEFAULT 'CREATED' NOT NULL,
	"when" text NOT NULL,
	"approval_rule_ids" uuid[] DEFAULT '{}' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"nested_pipeline_id" uuid,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"node_id" uuid,
	"approval_rule_ids" uuid[] NOT NULL,
	"user_id" uuid,
	"service_account_id" uuid,
	"principal_name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "pipeline_approvals_one_principal" CHECK (("pipeline_approvals"."user_id" is null) <> ("pipeline_approvals"."service_account_id" is null))
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" uuid NOT NULL,
	"project_id" uuid NOT NULL,
	"pipeline_id" uuid NOT NULL,
	"node_id" uuid NOT NULL,
	"status" text DEFAULT 'QUEUED' NOT NULL,
	"tags" text[] DEFAULT '{}' NOT NULL,
	"inputs" text NOT NULL,
	"max_duration_seconds" integer NOT NULL,
	"attempt" integer NOT NULL,
	"outputs" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"agent_id" uuid,
	"queued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"pending_at" timestamp with time zone,
	"running_at" timestamp with time zone,
	"cancel_requested_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"version" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_pipeline_template_id_pipeline_templates_id_fk" FOREIGN KEY ("pipeline_template_id") REFERENCES "public"."pipeline_templates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipelines" ADD CONSTRAINT "pipelines_parent_pipeline_id_pipelines_id_fk" FOREIGN KEY ("parent_pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_nodes" ADD CONSTRAINT "pipeline_nodes_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_nodes" ADD CONSTRAINT "pipeline_nodes_parent_node_id_pipeline_nodes_id_fk" FOREIGN KEY ("parent_node_id") REFERENCES "public"."pipeline_nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_approvals" ADD CONSTRAINT "pipeline_approvals_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pipeline_approvals" ADD CONSTRAINT "pipeline_approvals_node_id_pipeline_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."pipeline_nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_project_id_projects_id_fk" FOREIGN KEY ("project_id") REFERENCES "public"."projects"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_pipeline_id_pipelines_id_fk" FOREIGN KEY ("pipeline_id") REFERENCES "public"."pipelines"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_node_id_pipeline_nodes_id_fk" FOREIGN KEY ("node_id") REFERENCES "public"."pipeline_nodes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "pipelines_project_idx" ON "pipelines" USING btree ("project_id","created_at");--> statement-breakpoint
CREATE INDEX "pipelines_root_idx" ON "pipelines" USING btree ("root_pipeline_id");--> statement-breakpoint
CREATE UNIQUE INDEX "pipeline_nodes_path_key" ON "pipeline_nodes" USING btree ("pipeline_id","path");--> statement-breakpoint
CREATE INDEX "pipeline_nodes_due_idx" ON "pipeline_nodes" USING btree ("next_attempt_at") WHERE next_attempt_at is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "pipeline_approvals_active_key" ON "pipeline_approvals" USING btree ("pipeline_id",coalesce("node_id", '00000000-0000-0000-0000-000000000000'::uuid),coalesce("user_id", "service_account_id")) WHERE revoked_at is null;--> statement-breakpoint
CREATE INDEX "pipeline_approvals_node_idx" ON "pipeline_approvals" USING btree ("node_id");--> statement-breakpoint
CREATE INDEX "jobs_node_idx" ON "jobs" USING btree ("node_id");--> statement-breakpoint
CREATE INDEX "jobs_pipeline_idx" ON "jobs" USING btree ("pipeline_id");--> statement-breakpoint
CREATE INDEX "jobs_queued_idx" ON "jobs" USING btree ("organization_id","queued_at") WHERE status = 'QUEUED';--> statement-breakpoint
-- The pipeline engine's commit guard (src/domain/pipelines/commit.ts): refuses the transaction when
-- the tree it was computed from has changed meanwhile, as a serialization failure the engine retries.
CREATE OR REPLACE FUNCTION phobos_pipeline_unchanged(unchanged boolean) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT unchanged THEN
    RAISE EXCEPTION 'pipeline changed meanwhile' USING ERRCODE = '40001';
  END IF;
  RETURN true;
END
$$;
