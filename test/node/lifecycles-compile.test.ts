// compileReleaseLifecycle: the domain's example lifecycle compiles to the model a release's
// RELEASE_LIFECYCLE pipeline is built from; every invalid lifecycle is refused with each problem's
// message, line and column, all at once.
import { describe, expect, it } from 'vitest';
import { compileReleaseLifecycle } from '../../src/domain/lifecycles/compile';
import type { ReleaseLifecycleTemplate } from '../../src/domain/lifecycles/model';
import { templateLimits } from '../../src/domain/templates/compile';
import type { TemplateProblem } from '../../src/domain/templates/model';

function compiled(source: string): ReleaseLifecycleTemplate {
  const result = compileReleaseLifecycle(source);
  if (!result.ok) throw new Error(`expected the lifecycle to compile: ${JSON.stringify(result.problems)}`);
  return result.template;
}

function problemsOf(source: string): TemplateProblem[] {
  const result = compileReleaseLifecycle(source);
  if (result.ok) throw new Error('expected problems, the lifecycle compiled');
  return result.problems;
}

// The domain reference's example, as written there.
const example = `stage "dev" {
  deployment {
    environment = "dev-1"
  }
}

stage "prod" {
  pre {
    task "smoke_check" {
      interval          = "2m"
      attempts          = 3
      success_condition = "action_outputs.stage.prod.pre.task.smoke_check.action.probe.success == true"
      action "exec_command" {
        alias   = "probe"
        command = "curl -fsS https://staging.example.com/healthz"
      }
    }
  }
  deployment {
    environment    = "prod-1"
    approval_rules = ["prn:approval_rule:org_1/admins"]
  }
}
`;

const empty = { approvalRules: [], tasks: [] };

describe('compileReleaseLifecycle', () => {
  it('compiles the domain example to the expected model', () => {
    const template = compiled(example);
    expect(template).toEqual({
      variables: [],
      stages: [
        { name: 'dev', pre: empty, deployments: [{ environment: 'dev-1', approvalRules: [] }], post: empty },
        {
          name: 'prod',
          pre: {
            approvalRules: [],
            tasks: [
              {
                name: 'smoke_check',
                when: 'auto',
                approvalRules: [],
                agentTags: null,
                mountPoints: [],
                maxDurationSeconds: null,
                gate: {
                  intervalSeconds: 120,
                  attempts: 3,
                  successConditionSource: 'action_outputs.stage.prod.pre.task.smoke_check.action.probe.success == true',
                  successCondition: expect.objectContaining({ kind: 'binary', operator: '==' }),
                },
                actions: [
                  {
                    name: 'exec_command',
                    pluginName: 'exec',
                    actionName: 'command',
                    alias: 'probe',
                    inputs: { command: expect.objectContaining({ kind: 'literal', value: 'curl -fsS https://staging.example.com/healthz' }) },
                  },
                ],
              },
            ],
          },
          deployments: [{ environment: 'prod-1', approvalRules: ['prn:approval_rule:org_1/admins'] }],
          post: empty,
        },
      ],
      plugins: [],
      pluginRequirements: [],
      jwts: [],
      volumes: [],
      vcsTokens: [],
      approvalRulePrns: ['prn:approval_rule:org_1/admins'],
      environmentNames: ['dev-1', 'prod-1'],
    });
    // JSON all the way down: it goes into a jsonb column and comes back the same.
    expect(JSON.parse(JSON.stringify(template))).toEqual(template);
  });

  it('compiles every top-level block, stage_order, parallel deployments and pre/post blocks with references', () => {
    const template = compiled(`
variable "region" {
  type    = string
  default = "eu-west-1"
}
plugin exec {}
plugin_requirements {
  tharsis = { source = "martian-cloud/tharsis", version = "0.1.0" }
}
jwt "aws" {
  audience = "sts.amazonaws.com"
}
volume "repo" {
  type = "vcs"
  vcs_options {
    provider_id     = "prn:vcs_provider:acme/github"
    repository_path = "acme/app"
  }
}
vcs_token "gh" {
  provider_id = "prn:vcs_provider:acme/github"
}
stage_order = ["staging", "prod"]

stage "prod" {
  pre {
    approval_rules = ["prn:approval_rule:acme/release-managers", "prn:approval_rule:acme/web/qa"]
    task "wait" {
      when = "manual"
      action "exec_command" {
        command = "echo \${action_outputs.stage.staging.post.task.report.action.exec_command.url}"
      }
    }
  }
  deployment {
    environment    = "prod-eu"
    approval_rules = ["prn:approval_rule:acme/release-managers"]
  }
  deployment {
    environment = "prod-us"
  }
  post {
    task "announce" {
      mount_point {
        volume = "repo"
      }
      action "tharsis_apply" {
        token  = jwt.aws
        vcs    = vcs_token.gh
        region = var.region
        check  = action_outputs.stage.prod.pre.task.wait.action.exec_command.exit_code
      }
    }
  }
}

stage "staging" {
  deployment {
    environment = "staging"
  }
  post {
    approval_rules = ["prn:approval_rule:acme/release-managers"]
    task "report" {
      action "exec_command" {
        command = "echo done"
      }
    }
  }
}
`);
    expect(template.stages.map((stage) => stage.name)).toEqual(['staging', 'prod']);
    expect(template.environmentNames).toEqual(['prod-eu', 'prod-us', 'staging']);
    expect(template.approvalRulePrns).toEqual(['prn:approval_rule:acme/release-managers', 'prn:approval_rule:acme/web/qa']);
    const prod = template.stages[1]!;
    expect(prod.pre.approvalRules).toEqual(['prn:approval_rule:acme/release-managers', 'prn:approval_rule:acme/web/qa']);
    expect(prod.pre.tasks.map((task) => [task.name, task.when])).toEqual([['wait', 'manual']]);
    expect(prod.deployments).toEqual([
      { environment: 'prod-eu', approvalRules: ['prn:approval_rule:acme/release-managers'] },
      { environment: 'prod-us', approvalRules: [] },
    ]);
    expect(prod.post.tasks[0]?.mountPoints).toEqual([{ volume: 'repo', path: null }]);
    expect(prod.post.tasks[0]?.actions[0]?.pluginName).toBe('tharsis');
    expect(template.stages[0]!.post.approvalRules).toEqual(['prn:approval_rule:acme/release-managers']);
    expect(template.variables).toEqual([{ name: 'region', type: 'string', default: 'eu-west-1', hasDefault: true, sensitive: false, description: null }]);
    expect(template.pluginRequirements).toEqual([{ name: 'tharsis', source: 'martian-cloud/tharsis', version: '0.1.0' }]);
    expect(template.jwts).toEqual([{ name: 'aws', audience: 'sts.amazonaws.com' }]);
    expect(template.vcsTokens).toEqual([{ name: 'gh', providerId: 'prn:vcs_provider:acme/github' }]);
    expect(template.volumes.map((volume) => volume.name)).toEqual(['repo']);
  });

  it('accepts a pre block of approvals only, and the same environment in two stages', () => {
    const template = compiled(
      'stage "a" {\n  deployment {\n    environment = "dev"\n  }\n}\nstage "b" {\n  pre {\n    approval_rules = ["prn:approval_rule:acme/admins"]\n  }\n  deployment {\n    environment = "dev"\n  }\n}\n',
    );
    expect(template.stages[1]!.pre).toEqual({ approvalRules: ['prn:approval_rule:acme/admins'], tasks: [] });
    expect(template.environmentNames).toEqual(['dev']);
  });

  it('holds to the template limits: stages, and tasks and deployments per stage', () => {
    const stage = (name: string) => `stage "${name}" {\n  deployment {\n    environment = "e"\n  }\n}\n`;
    expect(compileReleaseLifecycle(Array.from({ length: templateLimits.stages }, (_, index) => stage(`s${index}`)).join('')).ok).toBe(true);
    const tooMany = Array.from({ length: templateLimits.stages + 1 }, (_, index) => stage(`s${index}`)).join('');
    expect(problemsOf(tooMany)).toEqual([
      {
        line: 5 * templateLimits.stages + 1,
        column: 1,
        message: `A release lifecycle has at most ${templateLimits.stages} stages; this one has ${templateLimits.stages + 1}.`,
      },
    ]);
    const deployments = Array.from({ length: templateLimits.childrenPerStage + 1 }, (_, index) => `  deployment {\n    environment = "e${index}"\n  }\n`).join(
      '',
    );
    expect(problemsOf(`stage "wide" {\n${deployments}}\n`)).toEqual([
      {
        line: 1,
        column: 1,
        message: `stage "wide" has ${templateLimits.childrenPerStage + 1} tasks and deployments; a stage has at most ${templateLimits.childrenPerStage}.`,
      },
    ]);
    const perStage = templateLimits.childrenPerStage;
    const stageCount = Math.floor(templateLimits.children / perStage) + 1;
    const tasks = Array.from({ length: perStage - 1 }, (_, index) => `    task "t${index}" {}\n`).join('');
    const big = Array.from(
      { length: stageCount },
      (_, index) => `stage "s${index}" {\n  pre {\n${tasks}  }\n  deployment {\n    environment = "e"\n  }\n}\n`,
    ).join('');
    const problems = problemsOf(big);
    expect(problems).toEqual([
      {
        line: 1,
        column: 1,
        message: `A release lifecycle has at most ${templateLimits.children} tasks and deployments in all; this one has ${stageCount * perStage}.`,
      },
    ]);
  });

  const deploy = '  deployment {\n    environment = "dev"\n  }\n';
  const cases: [string, string, [number, number, RegExp][]][] = [
    ['a syntax error', 'stage "a" {\n  deployment {\n    environment = \n  }\n}\n', [[3, 19, /./]]],
    ['no stage', 'variable "x" {}\n', [[1, 1, /A release lifecycle needs at least one stage/]]],
    ['a stage without deployment', 'stage "a" {\n  pre {\n    task "t" {}\n  }\n}\n', [[1, 1, /stage "a" needs at least one deployment block/]]],
    [
      'an agent block (lifecycles have none)',
      `agent {\n  tags = ["x"]\n}\nstage "a" {\n${deploy}}\n`,
      [[1, 1, /Unknown block "agent" in a release lifecycle\. Allowed blocks: stage, variable, plugin, plugin_requirements, jwt, volume, vcs_token\./]],
    ],
    [
      'a task directly in a stage',
      `stage "a" {\n  task "t" {}\n${deploy}}\n`,
      [[2, 3, /Unknown block "task" in stage "a"\. Allowed blocks: pre, deployment, post\./]],
    ],
    ['a stage attribute', `stage "a" {\n  when = "auto"\n${deploy}}\n`, [[2, 3, /Unknown attribute "when" in stage "a"\. No attributes are allowed here\./]]],
    [
      'a deployment without environment',
      'stage "a" {\n  deployment {\n  }\n}\n',
      [[2, 3, /A deployment of stage "a" needs environment: environment = "<name>"\./]],
    ],
    [
      'a deployment with a label and an unknown attribute',
      'stage "a" {\n  deployment "x" {\n    environment = "dev"\n    template = "t"\n  }\n}\n',
      [
        [2, 14, /A deployment block takes no labels/],
        [4, 5, /Unknown attribute "template" in a deployment of stage "a"\. .*Allowed attributes: environment, approval_rules\./],
      ],
    ],
    [
      'an environment that is not an environment name',
      'stage "a" {\n  deployment {\n    environment = "Prod EU"\n  }\n}\n',
      [[3, 19, /environment "Prod EU" is not an environment name: 1-64 lowercase letters, digits or inner hyphens\./]],
    ],
    ['an environment that is not a string', 'stage "a" {\n  deployment {\n    environment = 3\n  }\n}\n', [[3, 19, /environment must be a string\./]]],
    [
      'an environment from a variable',
      'variable "env" {}\nstage "a" {\n  deployment {\n    environment = var.env\n  }\n}\n',
      [[4, 19, /environment must be a string written out \(it cannot refer to variables or call functions\)\./]],
    ],
    [
      'the same environment twice in one stage',
      `stage "a" {\n${deploy}${deploy}}\n`,
      [[6, 19, /stage "a" deploys to environment "dev" twice: it already has a deployment to it at line 2\./]],
    ],
    [
      'an approval rule that is not an approval rule PRN',
      'stage "a" {\n  deployment {\n    environment    = "dev"\n    approval_rules = ["prn:team:acme/admins"]\n  }\n}\n',
      [[4, 22, /approval_rules: "prn:team:acme\/admins" is not an approval rule PRN/]],
    ],
    [
      'two pre blocks and an empty post block',
      `stage "a" {\n  pre {\n    task "t" {}\n  }\n  pre {\n    task "u" {}\n  }\n${deploy}  post {}\n}\n`,
      [
        [5, 3, /stage "a" has at most one pre block\./],
        [11, 3, /the post block of stage "a" needs a task or approval_rules/],
      ],
    ],
    [
      'a labelled pre block with an unknown attribute',
      `stage "a" {\n  pre "checks" {\n    interval = "1m"\n    task "t" {}\n  }\n${deploy}}\n`,
      [
        [2, 7, /A pre block takes no labels: pre \{ \.\.\. \}\./],
        [3, 5, /Unknown attribute "interval" in the pre block of stage "a"\. Allowed attributes: approval_rules\./],
      ],
    ],
    [
      'a task name in both pre and post',
      `stage "a" {\n  pre {\n    task "t" {}\n  }\n${deploy}  post {\n    task "t" {}\n  }\n}\n`,
      [[9, 5, /Duplicate task "t" in stage "a": it is already declared at line 3 \(pre and post tasks share one namespace\)\./]],
    ],
    [
      'a gate missing attempts and success_condition',
      `stage "a" {\n  pre {\n    task "t" {\n      interval = "1m"\n    }\n  }\n${deploy}}\n`,
      [
        [3, 5, /task "t" in pre of stage "a" is a gate \(it sets interval\) and also needs attempts = 3/],
        [3, 5, /also needs success_condition/],
      ],
    ],
    [
      "a pre task reading its own stage's post",
      `stage "a" {\n  pre {\n    task "t" {\n      action "exec_command" {\n        command = action_outputs.stage.a.post.task.u.action.exec_command.out\n      }\n    }\n  }\n${deploy}  post {\n    task "u" {\n      action "exec_command" {}\n    }\n  }\n}\n`,
      [
        [
          5,
          19,
          /action_outputs of task "u" in the post block of stage "a" are not available here: outputs can only be read from earlier stages, or in a post block from its own stage's pre block\./,
        ],
      ],
    ],
    [
      'a task reading a later stage',
      `stage "a" {\n  post {\n    task "t" {\n      action "exec_command" {\n        command = action_outputs.stage.b.pre.task.u.action.exec_command.out\n      }\n    }\n  }\n${deploy}}\nstage "b" {\n  pre {\n    task "u" {\n      action "exec_command" {}\n    }\n  }\n${deploy}}\n`,
      [[5, 19, /action_outputs of task "u" in the pre block of stage "b" are not available here/]],
    ],
    [
      'a task reading another task of its own pre block',
      `stage "a" {\n  pre {\n    task "t" {\n      action "exec_command" {}\n    }\n    task "u" {\n      action "exec_command" {\n        command = action_outputs.stage.a.pre.task.t.action.exec_command.out\n      }\n    }\n  }\n${deploy}}\n`,
      [[8, 19, /are not available here/]],
    ],
    [
      'outputs in the pipeline template shape (no pre or post)',
      `stage "a" {\n  post {\n    task "t" {\n      action "exec_command" {}\n    }\n  }\n${deploy}}\nstage "b" {\n  pre {\n    task "u" {\n      action "exec_command" {\n        command = action_outputs.stage.a.task.t.action.exec_command.out\n      }\n    }\n  }\n${deploy}}\n`,
      [[15, 19, /Action outputs are read as action_outputs\.stage\.<stage>\.<pre\|post>\.task\.<task>\.action\.<alias>\.<output>\./]],
    ],
    [
      'a task the named block does not have',
      `stage "a" {\n  pre {\n    task "check" {\n      action "exec_command" {}\n    }\n  }\n${deploy}  post {\n    task "t" {\n      action "exec_command" {\n        command = action_outputs.stage.a.pre.task.chek.action.exec_command.out\n      }\n    }\n  }\n}\n`,
      [[13, 19, /action_outputs names task "chek", which the pre block of stage "a" does not have\. Did you mean "check"\?/]],
    ],
    [
      'a gate condition naming an unknown alias of its own task',
      `stage "a" {\n  pre {\n    task "t" {\n      interval = "1m"\n      attempts = 2\n      success_condition = "action_outputs.stage.a.pre.task.t.action.probe.ok"\n      action "exec_command" {}\n    }\n  }\n${deploy}}\n`,
      [[6, 28, /success_condition: action_outputs names action "probe", which task "t" in the pre block of stage "a" does not have/]],
    ],
    [
      'an action of an undeclared plugin and an undeclared variable',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: HCL interpolation, not a JavaScript template.
      'stage "a" {\n  pre {\n    task "t" {\n      action "tharsis_apply" {\n        x = "${var.nope}"\n      }\n    }\n  }\n  deployment {\n    environment = "dev"\n  }\n}\n',
      [
        [4, 14, /uses plugin "tharsis", which is not declared/],
        [5, 16, /Unknown variable "nope"/],
      ],
    ],
    [
      'duplicate stages, and stage_order naming an unknown stage',
      `stage_order = ["a", "c"]\nstage "a" {\n${deploy}}\nstage "a" {\n${deploy}}\n`,
      [
        [1, 21, /stage_order names stage "c", which this template does not have/],
        [7, 1, /Duplicate stage "a": it is already declared at line 2\./],
      ],
    ],
    ['a stage without a name', `stage {\n${deploy}}\n`, [[1, 1, /A stage block needs exactly one label, its name: stage "<name>" \{ \.\.\. \}\./]]],
  ];

  it.each(cases)('refuses %s with each problem at its line and column', (_name, source, expected) => {
    const problems = problemsOf(source);
    expect(problems.map(({ line, column }) => [line, column])).toEqual(expected.map(([line, column]) => [line, column]));
    for (const [index, problem] of problems.entries()) expect(problem.message).toMatch(expected[index]![2]);
  });

  it('collects every problem of a lifecycle in one pass, in source order', () => {
    const problems = problemsOf('stge "x" {}\nstage "a" {\n  deployment {\n    environment = "A"\n  }\n  post {}\n}\n');
    expect(problems.map((problem) => problem.line)).toEqual([1, 4, 6]);
  });
});
