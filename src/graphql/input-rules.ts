// The rules every GraphQL input obeys, checked once at the boundary for every argument and input
// field of every module, current and future, so no resolver has to remember them:
// - text (String and ID values, at any depth of input objects and lists) follows src/domain/text.ts:
//   no control characters, except tab, line feed and carriage return in multiline fields — those
//   named `description`, or marked `extensions: { multiline: true }`;
// - a global-id argument or field (`t.arg.globalID`, `t.globalID`, `node(id:)`, `nodes(ids:)`) holds
//   well-formed global ids (global-ids.ts) of the types it is declared `for`, or of node types;
//   a list of them holds at most queryLimits.maxGlobalIdsPerList. A PRN may stand for a global id
//   (prns.ts): it must be well-formed and of a type the position accepts; all of an operation's
//   PRNs are then resolved to ids, one query per PRN type, before execution.
// It runs just before execution, on the arguments as GraphQL coerced them from literals and
// variables, so the first broken value is refused with BAD_USER_INPUT and `extensions.field`
// naming its path as the client wrote it (`input.boundClaims.0.value`), before any resolver runs.
import {
  getArgumentValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { looksLikePrn } from '../domain/prn';
import { textProblem } from '../domain/text';
import type { GraphQLContext } from './context';
import { clientError } from './errors';
import { parseGlobalId } from './global-ids';
import { acceptedPrnTypes, prnTypename, resolvePrns } from './prns';
import { queryLimits, type OperationHookPayload } from './query-limits';

interface InputProblem {
  field: string;
  message: string;
}

type InputDefinition = GraphQLArgument | GraphQLInputField;

/** Pothos's relay plugin marks global-id arguments and fields so in their extensions. */
interface GlobalIdExtensions {
  isRelayGlobalID?: boolean;
  relayGlobalIDFor?: { typename: string }[] | null;
}

function isMultiline(definition: InputDefinition): boolean {
  return definition.name === 'description' || definition.extensions?.multiline === true;
}

/** Where the walk puts the PRNs it meets, to be resolved once it has found no problem. */
type PrnCollector = Set<string>;

function globalIdProblem(value: string, definition: InputDefinition, schema: GraphQLSchema, prns: PrnCollector): string | undefined {
  const isPrn = looksLikePrn(value);
  const typename = isPrn ? prnTypename(value) : parseGlobalId(value)?.typename;
  if (isPrn && typename) prns.add(value);
  const expected = (definition.extensions as GlobalIdExtensions).relayGlobalIDFor?.map((entry) => entry.typename);
  if (expected?.length) {
    return typename && expected.includes(typename) ? undefined : `not a ${expected.join(' or ')} id`;
  }
  if (isPrn && !typename) return `not a PRN of an object that can be fetched by id (prn:<type>:<path>, type one of ${acceptedPrnTypes().join(', ')})`;
  if (!typename) return 'not a global id';
  const type = schema.getType(typename);
  const isNode = isObjectType(type) && type.getInterfaces().some((candidate) => candidate.name === 'Node');
  return isNode ? undefined : `not the id of an object that can be fetched by id: ${typename}`;
}

function inputProblem(
  value: unknown,
  type: GraphQLInputType,
  path: string,
  definition: InputDefinition,
  schema: GraphQLSchema,
  prns: PrnCollector,
): InputProblem | undefined {
  if (value === null || value === undefined) return undefined;
  const nullable = isNonNullType(type) ? type.ofType : type;
  const isGlobalId = (definition.extensions as GlobalIdExtensions).isRelayGlobalID === true;
  if (isListType(nullable)) {
    // Coercion has turned a single value given for a list into a list of one already.
    const items = value as unknown[];
    if (isGlobalId && items.length > queryLimits.maxGlobalIdsPerList) {
      return { field: path, message: `at most ${queryLimits.maxGlobalIdsPerList} ids in one request, not ${items.length}` };
    }
    for (let index = 0; index < items.length; index += 1) {
      const problem = inputProblem(items[index], nullable.ofType, `${path}.${index}`, definition, schema, prns);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isInputObjectType(nullable)) {
    const fields = value as Record<string, unknown>;
    for (const field of Object.values(nullable.getFields())) {
      const problem = inputProblem(fields[field.name], field.type, `${path}.${field.name}`, field, schema, prns);
      if (problem) return problem;
    }
    return undefined;
  }
  // String and ID, and any custom scalar whose parsed value is a string.
  if (typeof value !== 'string') return undefined;
  const message = textProblem(value, { multiline: isMultiline(definition) }) ?? (isGlobalId ? globalIdProblem(value, definition, schema, prns) : undefined);
  return message ? { field: path, message } : undefined;
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  visited: Set<string>;
  variables: Record<string, unknown>;
  prns: PrnCollector;
}

function selectionProblem(selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, walk: Walk): InputProblem | undefined {
  for (const selection of selectionSet.selections) {
    let problem: InputProblem | undefined;
    if (selection.kind === Kind.FIELD) {
      // Introspection fields (`__type(name:)`) are not in getFields and carry nothing to store.
      const definition = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[selection.name.value] : undefined;
      if (!definition) continue;
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(definition, selection, walk.variables);
      } catch {
        // Not coercible: execution reports it, with GraphQL's own message.
        continue;
      }
      for (const argument of definition.args) {
        problem ??= inputProblem(args[argument.name], argument.type, argument.name, argument, walk.schema, walk.prns);
      }
      if (!problem && selection.selectionSet) problem = selectionProblem(selection.selectionSet, getNamedType(definition.type), walk);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
      problem = selectionProblem(selection.selectionSet, type ?? undefined, walk);
    } else {
      const fragment = walk.fragments.get(selection.name.value);
      // A fragment's arguments are the same wherever it is spread: walked once.
      if (!fragment || walk.visited.has(fragment.name.value)) continue;
      walk.visited.add(fragment.name.value);
      problem = selectionProblem(fragment.selectionSet, walk.schema.getType(fragment.typeCondition.name.value) ?? undefined, walk);
    }
    if (problem) return problem;
  }
  return undefined;
}

/** The first input of the operation that breaks a rule, by the rules in the header; the PRNs it holds go to `prns`. */
export function findInputProblem(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Record<string, unknown> | null | undefined,
  prns: PrnCollector = new Set(),
): InputProblem | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  // Variables that do not coerce are refused by execution, with GraphQL's own message.
  if (coerced.errors) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const root = schema.getRootType(operation.operation) ?? undefined;
  return selectionProblem(operation.selectionSet, root, { schema, fragments, visited: new Set(), variables: coerced.coerced, prns });
}

// Synchronous unless there are PRNs to look up: most requests carry none, and an async hook would
// make every request wait on a promise for nothing.
function checkInputs({ args, setResultAndStopExecution }: OperationHookPayload): Promise<undefined> | undefined {
  const prns: PrnCollector = new Set();
  const problem = findInputProblem(args.schema, args.document, args.operationName, args.variableValues, prns);
  if (problem) {
    setResultAndStopExecution({ errors: [clientError(`${problem.field}: ${problem.message}`, 'BAD_USER_INPUT', { field: problem.field })] });
    return undefined;
  }
  if (prns.size > 0) return resolvePrns(args.contextValue as GraphQLContext, prns).then(() => undefined);
  return undefined;
}

/** Queries and mutations run through onExecute; subscriptions through onSubscribe. */
export function useInputRules(): Plugin<GraphQLContext> {
  return { onExecute: checkInputs, onSubscribe: checkInputs };
}
