// The caller's to-do items, across every organization and project it may see, newest first:
//   query { todoItems(first: 20) { totalCount edges { node { kind since pipelineNode { id name path status }
//     pipeline { id environmentName project { name } } } } pageInfo { endCursor hasNextPage } } }
// APPROVE: a stage, task or nested pipeline waiting for an approval the caller may give (a principal
// of one of its approval rules that has not approved it yet); START: a manual task or nested
// pipeline waiting to be started, in a project where the caller may run pipelines. The list is one
// query (src/domain/pipelines/todo.ts); the nodes and pipelines it names load in one more each.
import { pageTodoItems, type TodoItemRow } from '../../domain/pipelines/todo';
import { notFound } from '../../errors';
import { builder } from '../builder';
import { keysetConnection } from '../connections';
import { nodeById } from '../pipeline-loaders';
import { PipelineNode, PipelineNodeInterface } from './pipelines';

const TodoItemKindEnum = builder.enumType('TodoItemKind', {
  values: {
    APPROVE: { description: 'Waiting for your approval (approvePipelineNode).' },
    START: { description: 'A manual task or nested pipeline waiting to be started (startPipelineNode).' },
  },
});

const TodoItemRef = builder.objectRef<TodoItemRow>('TodoItem').implement({
  description: 'Something waiting for the caller.',
  fields: (t) => ({
    kind: t.field({ type: TodoItemKindEnum, resolve: (item) => item.kind }),
    since: t.field({ type: 'Time', description: 'When it started waiting (its last change).', resolve: (item) => item.since }),
    pipelineNode: t.field({
      type: PipelineNodeInterface,
      description: 'The stage, task or nested pipeline; pass its id to the mutation the kind names.',
      resolve: async (item, _args, context) => {
        const node = await nodeById(context).load(item.nodeId);
        // Listed a moment ago; gone only if its pipeline was deleted since.
        if (!node) throw notFound('Pipeline node');
        return node;
      },
    }),
    pipeline: t.field({ type: PipelineNode, resolve: (item) => item.pipelineId }),
  }),
});

builder.queryField('todoItems', (t) =>
  t.connection(
    {
      type: TodoItemRef,
      description: "The caller's to-do items in every organization and project it may see, newest first.",
      resolve: async (_root, args, context) => {
        const caller = await context.caller();
        return keysetConnection<TodoItemRow>(
          args,
          (item) => item.cursorKey,
          (page) => pageTodoItems(context.db.http, caller, page),
        );
      },
    },
    { name: 'TodoItemConnection' },
    { name: 'TodoItemEdge' },
  ),
);
