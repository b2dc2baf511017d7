// The pipeline page's documents: the whole graph in one request (README "Pipelines over GraphQL"),
// the node and pipeline mutations, the caller's approvals to give, and the live events.
import { graphql } from '../graphql/graphql';

export const pipelineGraphQuery = graphql(`
  query PipelineGraph($id: ID!) {
    pipeline(id: $id) {
      id
      type
      status
      holdReason
      environmentName
      startedAt
      completedAt
      createdBy {
        kind
        name
      }
      metadata {
        prn
        createdAt
      }
      pipelineTemplate {
        id
        name
        semanticVersion
      }
      release {
        id
        semanticVersion
      }
      parentPipeline {
        id
      }
      project {
        id
        name
        organization {
          name
        }
        viewerPermissions
      }
      annotations {
        key
        value
        link
      }
      variables {
        key
        value
        sensitive
      }
      stages {
        id
        name
        path
        status
        when
        approvals {
          principalName
        }
        approvalRules {
          name
          approvalsRequired
        }
        tasks {
          id
          name
          path
          status
          when
          attempts
          nextAttemptAt
          approvals {
            principalName
          }
          approvalRules {
            name
            approvalsRequired
          }
          jobs {
            id
            status
            attempt
          }
        }
        nestedPipelines {
          id
          name
          path
          status
          when
          approvals {
            principalName
          }
          approvalRules {
            name
            approvalsRequired
          }
          childPipeline {
            id
            status
          }
        }
      }
    }
  }
`);

/** The caller's approvals and manual starts, to show "Approve" only where the caller is an approver. */
export const myTodoQuery = graphql(`
  query PipelineTodo {
    todoItems(first: 100) {
      edges {
        node {
          kind
          pipelineNode {
            id
          }
        }
      }
    }
  }
`);

export const projectEventsSubscription = graphql(`
  subscription PipelineGraphEvents($projectId: ID!, $afterEventId: String) {
    projectEvents(projectId: $projectId, afterEventId: $afterEventId) {
      id
      kind
      pipelineId
      jobId
      payload
    }
  }
`);

export const approveMutation = graphql(`
  mutation ApprovePipelineNode($nodeId: ID!) {
    approvePipelineNode(input: { nodeId: $nodeId }) {
      pipelineNode {
        id
        status
      }
    }
  }
`);

export const startMutation = graphql(`
  mutation StartPipelineNode($nodeId: ID!) {
    startPipelineNode(input: { nodeId: $nodeId }) {
      pipelineNode {
        id
        status
      }
    }
  }
`);

export const retryMutation = graphql(`
  mutation RetryPipelineTask($nodeId: ID!) {
    retryPipelineTask(input: { nodeId: $nodeId }) {
      pipelineNode {
        id
        status
      }
    }
  }
`);

export const deferMutation = graphql(`
  mutation DeferPipelineNode($nodeId: ID!) {
    deferPipelineNode(input: { nodeId: $nodeId }) {
      pipelineNode {
        id
        status
      }
    }
  }
`);

export const cancelMutation = graphql(`
  mutation CancelPipeline($pipelineId: ID!) {
    cancelPipeline(input: { pipelineId: $pipelineId }) {
      pipeline {
        id
        status
      }
    }
  }
`);
