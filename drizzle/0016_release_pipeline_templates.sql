CREATE TABLE "release_pipeline_templates" (
	"release_id" uuid NOT NULL,
	"pipeline_template_id" uuid NOT NULL,
	CONSTRAINT "release_pipeline_templates_release_id_pipeline_template_id_pk" PRIMARY KEY("release_id","pipeline_template_id")
);
--> statement-breakpoint
ALTER TABLE "release_pipeline_templates" ADD CONSTRAINT "release_pipeline_templates_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_pipeline_templates" ADD CONSTRAINT "release_pipeline_templates_pipeline_template_id_pipeline_templates_id_fk" FOREIGN KEY ("pipeline_template_id") REFERENCES "public"."pipeline_templates"("id") ON DELETE restrict ON UPDATE no action;