// Running pipelines: every mutation is one engine transition, authorized and checked by the
// engine's service (src/domain/pipelines/service.ts); nothing is decided here.
//   mutation { createPipeline(input: { pipelineTemplateId: "...", type: DEPLOYMENT, environmentName: "prod",
//     variables: [{ key: "version", value: "\"1.4.2\"" }, { key: "ports", value: "[8000, 8001]" }],
//     annotations: [{ key: "commit", value: "abc123", link: "https://example.com/c/abc123" }] }) { pipeline { id status } } }
//   mutation { approvePipelineNode(input: { nodeId: "<PipelineTask id>" }) { pipelineNode { status } } }
//   mutation { cancelPipeline(input: { pipelineId: "..." }) { pipeline { status } } }
// Variable values are JSON texts: "\"text\"", "42", "true", "[1, 2]", "{\"a\": 1}"; each is parsed
// here and converted to the template's declared type by the engine, and a problem names the entry
// (`input.variables[2].value`).
import { approveNode, cancelPipeline, createPipeline, deferNode, retryTask, revokeApproval, startNode, type NodeView } from '../../domain/pipelines/service';
import { AppError, badInput } from '../../errors';
import { builder } from '../builder';
import { PipelineTemplateNode } from './pipeline-templates';
import { NestedPipelineNode, PipelineNode, PipelineNodeInterface, PipelineStageNode, PipelineTaskNode } from './pipelines';

const CreatablePipelineType = builder.enumType('CreatablePipelineType', {
  description: 'The pipeline types people create: NESTED pipelines are created by their parent, RELEASE_LIFECYCLE by releases.',
  values: ['DEPLOYMENT', 'RUNBOOK'] as const,
});

export const PipelineVariableInput = builder.inputType('PipelineVariableInput', {
  fields: (t) => ({
    key: t.string({ required: true, description: "The name of one of the template's `variable` blocks." }),
    value: t.string({
      required: true,
      description: 'The value as a JSON text: "\\"text\\"", "42", "true", "[8000, 8001]", "{\\"a\\": 1}". Converted to the variable\'s type.',
      extensions: { multiline: true },
    }),
  }),
});

const PipelineAnnotationInput = builder.inputType('PipelineAnnotationInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    value: t.string({ required: true }),
    link: t.string({ description: 'An http(s) URL.' }),
  }),
});

interface VariableEntry {
  key: string;
  value: string;
}

/** The variables as the engine takes them (an object), each value parsed from JSON; problems name the entry. */
export function variablesOf(entries: readonly VariableEntry[]): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  const seen = new Map<string, number>();
  entries.forEach((entry, index) => {
    const earlier = seen.get(entry.key);
    if (earlier !== undefined) throw badInput(`input.variables[${index}].key`, `${entry.key} is given twice (also input.variables[${earlier}])`);
    seen.set(entry.key, index);
    try {
      values[entry.key] = JSON.parse(entry.value);
    } catch {
      throw badInput(`input.variables[${index}].value`, 'must be a JSON text, e.g. "\\"text\\"", 42, true, [1, 2] or {"a": 1} (a string is quoted)');
    }
  });
  return values;
}

/**
 * The engine names its inputs as the domain does (`variables.version`, `annotations[0].key`); the
 * client wrote them under `input`, variables as a list: the error is renamed to what was sent.
 */
export function asInputError(error: unknown, entries: readonly VariableEntry[]): unknown {
  if (!(error instanceof AppError) || error.code !== 'BAD_USER_INPUT' || !error.options.field) return error;
  const { field } = error.options;
  const reason = error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message;
  const variable = /^variables\.(.+)$/.exec(field)?.[1];
  if (variable !== undefined) {
    const index = entries.findIndex((entry) => entry.key === variable);
    if (index >= 0)
      return badInput(`input.variables[${index}].${/^the templates? (?:of the release )?declares? no variable/.test(reason) ? 'key' : 'value'}`, reason);
    return badInput('input.variables', `${variable}: ${reason}`);
  }
  return badInput(`input.${field}`, reason);
}

builder.relayMutationField(
  'createPipeline',
  {
    name: 'CreatePipelineInput',
    inputFields: (t) => ({
      pipelineTemplateId: t.globalID({ for: PipelineTemplateNode, required: true, description: 'The PipelineTemplate (version) to run, by id or PRN.' }),
      type: t.field({ type: CreatablePipelineType, required: true }),
      environmentName: t.string({ description: 'Required for a DEPLOYMENT (the environment is created if it does not exist); refused otherwise.' }),
      variables: t.field({ type: [PipelineVariableInput], description: "Values for the template's variable blocks; those with a default may be left out." }),
      annotations: t.field({ type: [PipelineAnnotationInput], description: 'At most 20.' }),
    }),
  },
  {
    description: "Creates a pipeline from a template version and starts it (needs pipeline:execute; a DEPLOYMENT also the environment's protection rules).",
    resolve: async (_root, { input }, context) => {
      const entries = input.variables ?? [];
      const variables = variablesOf(entries);
      try {
        const pipeline = await createPipeline(context.db.http, context.config, await context.caller(), {
          pipelineTemplateId: input.pipelineTemplateId.id,
          type: input.type,
          environmentName: input.environmentName ?? undefined,
          variables,
          annotations: input.annotations ?? undefined,
        });
        await context.publishPipelineEvents({ projectId: pipeline.projectId });
        return { pipeline };
      } catch (error) {
        throw asInputError(error, entries);
      }
    },
  },
  {
    name: 'CreatePipelinePayload',
    outputFields: (t) => ({
      pipeline: t.field({ type: PipelineNode, resolve: (payload) => payload.pipeline }),
    }),
  },
);

const anyNode = [PipelineStageNode, PipelineTaskNode, NestedPipelineNode];

type NodeAction = typeof approveNode;

/** A mutation that moves one node: `nodeId` of the node types given, answered with the node as it is after. */
function nodeMutation(
  name: string,
  description: string,
  action: NodeAction,
  nodeTypes: (typeof PipelineTaskNode | typeof PipelineStageNode | typeof NestedPipelineNode)[],
) {
  const typeName = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
  builder.relayMutationField(
    name,
    {
      name: `${typeName}Input`,
      inputFields: (t) => ({
        nodeId: t.globalID({ for: nodeTypes, required: true, description: `The ${nodeTypes.map((type) => type.name).join(' or ')}.` }),
      }),
    },
    {
      description,
      resolve: async (_root, { input }, context) => {
        const pipelineNode = await action(context.db.http, context.config, await context.caller(), { nodeId: input.nodeId.id });
        await context.publishPipelineEvents({ pipelineId: pipelineNode.pipelineId });
        return { pipelineNode };
      },
    },
    {
      name: `${typeName}Payload`,
      outputFields: (t) => ({
        pipelineNode: t.field({ type: PipelineNodeInterface, resolve: (payload: { pipelineNode: NodeView }) => payload.pipelineNode }),
      }),
    },
  );
}

nodeMutation(
  'approvePipelineNode',
  'Approves a node waiting for approvals (APPROVAL_PENDING), for each of its approval rules that names the caller; once per approver.',
  approveNode,
  anyNode,
);
nodeMutation(
  'revokePipelineNodeApproval',
  "Withdraws the caller's approval of a node that has not started yet (APPROVAL_PENDING, or WAITING for a manual start).",
  revokeApproval,
  anyNode,
);
nodeMutation('startPipelineNode', 'Starts a manual task or nested pipeline that is WAITING (needs pipeline:execute).', startNode, [
  PipelineTaskNode,
  NestedPipelineNode,
]);
nodeMutation(
  'retryPipelineTask',
  'Runs a FAILED task again: a new job (a gate starts its attempts over); a pipeline that had failed runs again (needs pipeline:execute).',
  retryTask,
  [PipelineTaskNode],
);
nodeMutation(
  'deferPipelineNode',
  'Skips a node that has not started (CREATED, APPROVAL_PENDING or WAITING): it ends DEFERRED and counts as done (needs pipeline:execute).',
  deferNode,
  anyNode,
);

builder.relayMutationField(
  'cancelPipeline',
  {
    name: 'CancelPipelineInput',
    inputFields: (t) => ({
      pipelineId: t.globalID({ for: PipelineNode, required: true }),
    }),
  },
  {
    description: 'Cancels a pipeline and its nested pipelines: running jobs are asked to stop (needs pipeline:execute).',
    resolve: async (_root, { input }, context) => {
      const pipeline = await cancelPipeline(context.db.http, context.config, await context.caller(), { pipelineId: input.pipelineId.id });
      await context.publishPipelineEvents({ projectId: pipeline.projectId });
      return { pipeline };
    },
  },
  {
    name: 'CancelPipelinePayload',
    outputFields: (t) => ({
      pipeline: t.field({ type: PipelineNode, resolve: (payload) => payload.pipeline }),
    }),
  },
);
