// compilePipelineTemplate: a valid template compiles to the model the engine runs; every invalid
// one is refused with each problem's message, line and column, all at once.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePipelineTemplate } from '../../src/domain/templates/compile';
import type { TemplateProblem } from '../../src/domain/templates/model';

function problemsOf(source: string): TemplateProblem[] {
  const result = compilePipelineTemplate(source);
  if (result.ok) throw new Error('expected problems, the template compiled');
  return result.problems;
}

const valid = `
variable "sample" {
  type    = string
  default = "this is the default value"
}

variable "ports" {
  type        = list(number)
  default     = [8000, "8001"]
  description = "Ports to open"
}

variable "token" {
  type      = string
  sensitive = true
}

agent {
  tags = ["linux"]
}

plugin exec {}

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

stage_order = ["build", "deploy", "cleanup"]

stage "deploy" {
  approval_rules = ["prn:approval_rule:acme/admins"]
  task "deploy_resource" {
    when       = "manual"
    agent_tags = ["prod"]
    max_duration = "1h"
    mount_point {
      volume = "repo"
      path   = "/src"
    }
    action "exec_command" {
      command = <<EOF
echo "Deploying resource..."
echo "value for sample=\${var.sample}"
echo "value for ports=\${jsonencode(var.ports)}"
echo "\${action_outputs.stage.build.task.compile.action.make.artifact}"
EOF
    }
  }
  task "probe" {
    interval          = "30s"
    attempts          = 3
    success_condition = "action_outputs.stage.deploy.task.probe.action.check.success == true"
    action "exec_command" {
      alias   = "check"
      command = "curl -fsS https://example.com"
    }
  }
  pipeline "child" {
    template_id = "prn:pipeline_template:acme/app/child/1.0.0"
    variables   = { artifact = action_outputs.stage.build.task.compile.action.make.artifact }
    approval_rules = ["prn:approval_rule:acme/app/leads"]
  }
}

stage "build" {
  task "compile" {
    action "exec_command" {
      alias   = "make"
      command = "make \${var.token}"
    }
  }
}

stage "cleanup" {
  when = "pipeline_failure"
  task "clean" {
    action "exec_command" {
      command = "rm -rf build"
    }
  }
}
`;

describe('compilePipelineTemplate', () => {
  it('compiles a valid template into the model: stage_order, gates, defaults converted to their type', () => {
    const result = compilePipelineTemplate(valid);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const { template } = result;
    expect(template.stages.map((stage) => stage.name)).toEqual(['build', 'deploy', 'cleanup']);
    expect(template.variables.map(({ name, type, default: value, hasDefault, sensitive }) => ({ name, type, value, hasDefault, sensitive }))).toEqual([
      { name: 'sample', type: 'string', value: 'this is the default value', hasDefault: true, sensitive: false },
      { name: 'ports', type: { list: 'number' }, value: [8000, 8001], hasDefault: true, sensitive: false },
      { name: 'token', type: 'string', value: undefined, hasDefault: false, sensitive: true },
    ]);
    const deploy = template.stages[1]!;
    expect(deploy.approvalRules).toEqual(['prn:approval_rule:acme/admins']);
    const [task, probe] = deploy.tasks;
    expect(task).toMatchObject({
      name: 'deploy_resource',
      when: 'manual',
      agentTags: ['prod'],
      maxDurationSeconds: 3600,
      mountPoints: [{ volume: 'repo', path: '/src' }],
    });
    expect(task!.actions[0]).toMatchObject({ name: 'exec_command', pluginName: 'exec', actionName: 'command', alias: 'exec_command' });
    expect(probe!.gate).toMatchObject({
      intervalSeconds: 30,
      attempts: 3,
      successConditionSource: 'action_outputs.stage.deploy.task.probe.action.check.success == true',
    });
    expect(probe!.gate!.successCondition.kind).toBe('binary');
    expect(deploy.pipelines[0]).toMatchObject({ name: 'child', when: 'auto', environment: null });
    expect(template.stages[2]!.when).toBe('pipeline_failure');
    expect(template.agentTags).toEqual(['linux']);
    expect(template.jwts).toEqual([{ name: 'aws', audience: 'sts.amazonaws.com' }]);
    expect(template.vcsTokens).toEqual([{ name: 'gh', providerId: 'prn:vcs_provider:acme/github' }]);
    expect(template.volumes[0]!.name).toBe('repo');
    expect(template.approvalRulePrns).toEqual(['prn:approval_rule:acme/admins', 'prn:approval_rule:acme/app/leads']);
    // JSON all the way down: it goes into a jsonb column as it is.
    expect(JSON.parse(JSON.stringify(template))).toEqual(template);
  });

  it('compiles the documented example', () => {
    const result = compilePipelineTemplate(`variable "sample" {
  type    = string
  default = "this is the default value"
}

variable "ports" {
  type    = list(number)
  default = [8000, 8001]
}

plugin exec {}

stage "deployment" {
  task "deploy_resource" {
    action "exec_command" {
      command = <<EOF
echo "Deploying resource..."
echo "value for sample=\${var.sample}"
echo "value for ports=\${jsonencode(var.ports)}"
EOF
    }
  }
}
`);
    expect(result.ok).toBe(true);
  });

  // The parser's corpus (test/fixtures/templates): those that are complete pipeline templates compile;
  // the others are release lifecycles or use variables they do not declare, which compile refuses.
  it.each([
    '01-domain-example',
    '03-gate',
    '04-approvals',
    '05-nested-pipelines',
    '08-for-expressions',
    '09-comments',
    '10-agents-volumes',
    '11-plugins',
    '15-multiline',
  ])('compiles the corpus template %s', (name) => {
    const result = compilePipelineTemplate(readFileSync(`test/fixtures/templates/${name}.hcl`, 'utf8'));
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('refuses a release lifecycle as a pipeline template, naming its blocks', () => {
    const problems = problemsOf(readFileSync('test/fixtures/templates/02-release-lifecycle.hcl', 'utf8'));
    expect(problems.map((problem) => problem.message)).toContain('Unknown block "deployment" in stage "dev". Allowed blocks: task, pipeline.');
  });

  it('reports a syntax error with its line and column', () => {
    const [problem] = problemsOf('stage "a" {\n  task "b" {\n    action "exec_command" {\n      command = \n    }\n  }\n}\n');
    expect(problem).toMatchObject({ line: 4 });
    expect(problem!.message).toBeTruthy();
  });

  const cases: Array<[string, string, Array<[number, number, RegExp]>]> = [
    [
      'an unknown top-level block, with a suggestion',
      'stge "a" {}\nstage "b" {\n  task "t" {}\n}\n',
      [[1, 1, /Unknown block "stge" in a pipeline template\. Did you mean "stage"\?/]],
    ],
    [
      'an unknown attribute of a task',
      'stage "b" {\n  task "t" {\n    attemps = 3\n  }\n}\n',
      [[3, 5, /Unknown attribute "attemps" in task "t" of stage "b"\. Did you mean "attempts"\?/]],
    ],
    ['a stage without a label', 'stage {\n  task "t" {}\n}\n', [[1, 1, /A stage block needs exactly one label, its name/]]],
    ['no stage at all', 'plugin exec {}\n', [[1, 1, /needs at least one stage/]]],
    [
      'duplicate stage names',
      'stage "a" {\n  task "t" {}\n}\nstage "a" {\n  task "u" {}\n}\n',
      [[4, 1, /Duplicate stage "a": it is already declared at line 1/]],
    ],
    ['duplicate task names in a stage', 'stage "a" {\n  task "t" {}\n  task "t" {}\n}\n', [[3, 3, /Duplicate task or pipeline in stage "a" "t"/]]],
    ['a bad stage when', 'stage "a" {\n  when = "always"\n  task "t" {}\n}\n', [[2, 10, /when must be "auto" or "pipeline_failure", not "always"/]]],
    ['a bad task when', 'stage "a" {\n  task "t" {\n    when = "later"\n  }\n}\n', [[3, 12, /when must be "auto" or "manual", not "later"/]]],
    [
      'an approval rule that is not a PRN',
      'stage "a" {\n  approval_rules = ["admins"]\n  task "t" {}\n}\n',
      [[2, 20, /approval_rules: "admins" is not an approval rule PRN/]],
    ],
    ['agent_tags not a list', 'stage "a" {\n  task "t" {\n    agent_tags = "linux"\n  }\n}\n', [[3, 18, /agent_tags must be a list of strings/]]],
    [
      'a mount point of an undeclared volume',
      'stage "a" {\n  task "t" {\n    mount_point {\n      volume = "src"\n    }\n  }\n}\n',
      [[4, 16, /no volume "src" is declared; add a volume "src" block/]],
    ],
    [
      'a gate without a success condition and a bad interval',
      'stage "a" {\n  task "t" {\n    interval = "2 minutes"\n    attempts = 3\n  }\n}\n',
      [
        [2, 3, /is a gate \(it sets interval\) and also needs success_condition/],
        [3, 16, /interval must be a duration such as "30s", "2m", "1h" or "1h30m", not "2 minutes"/],
      ],
    ],
    [
      'attempts out of range',
      'stage "a" {\n  task "t" {\n    interval = "1m"\n    attempts = 0\n    success_condition = "true"\n  }\n}\n',
      [[4, 16, /attempts must be a whole number from 1 to 1000/]],
    ],
    [
      'a success condition that does not parse',
      'stage "a" {\n  task "t" {\n    interval = "1m"\n    attempts = 2\n    success_condition = "1 +"\n  }\n}\n',
      [[5, 29, /success_condition: /]],
    ],
    [
      'a success condition naming an unknown action',
      'stage "a" {\n  task "t" {\n    interval = "1m"\n    attempts = 2\n    success_condition = "action_outputs.stage.a.task.t.action.probe.ok"\n    action "exec_command" {\n      command = "true"\n    }\n  }\n}\n',
      [[5, 26, /success_condition: action_outputs names action "probe", which task "t" of stage "a" does not have/]],
    ],
    ['an action name without a plugin', 'stage "a" {\n  task "t" {\n    action "command" {}\n  }\n}\n', [[3, 12, /an action is named "<plugin>_<action>"/]]],
    [
      'an action of an undeclared plugin',
      'stage "a" {\n  task "t" {\n    action "tharsis_apply" {}\n  }\n}\n',
      [[3, 12, /uses plugin "tharsis", which is not declared: add plugin "tharsis" \{\}/]],
    ],
    [
      'two actions with the same alias',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      alias = "x"\n    }\n    action "exec_command" {\n      alias = "x"\n    }\n  }\n}\n',
      [[6, 5, /Two actions of task "t" of stage "a" are named "x"/]],
    ],
    [
      'an undeclared variable',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: HCL interpolation, not a JavaScript template.
      'variable "name" {}\nstage "a" {\n  task "t" {\n    action "exec_command" {\n      command = "echo ${var.nmae}"\n    }\n  }\n}\n',
      [[5, 25, /Unknown variable "nmae": declare it with a variable "nmae" block\. Did you mean "name"\?/]],
    ],
    [
      'an unknown function',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      command = jsonencod("x")\n    }\n  }\n}\n',
      [[4, 17, /Unknown function "jsonencod"\. Did you mean "jsonencode"\?/]],
    ],
    [
      'an unknown root name',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      command = local.x\n    }\n  }\n}\n',
      [[4, 17, /Unknown name "local": references start with var, action_outputs, jwt, vcs_token/]],
    ],
    [
      'outputs of a later stage',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      command = action_outputs.stage.b.task.u.action.exec_command.out\n    }\n  }\n}\nstage "b" {\n  task "u" {\n    action "exec_command" {}\n  }\n}\n',
      [[4, 17, /action_outputs of task "u" in stage "b" are not available here: outputs can only be read from stages that run before this one/]],
    ],
    [
      'outputs of a task of the same stage',
      'stage "a" {\n  task "t" {\n    action "exec_command" {}\n  }\n  task "u" {\n    action "exec_command" {\n      command = action_outputs.stage.a.task.t.action.exec_command.out\n    }\n  }\n}\n',
      [[7, 17, /are not available here/]],
    ],
    [
      'outputs in the wrong shape',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      command = action_outputs.a.t\n    }\n  }\n}\n',
      [[4, 17, /Action outputs are read as action_outputs\.stage\.<stage>\.task\.<task>\.action\.<alias>\.<output>/]],
    ],
    [
      'a default that does not fit its type',
      'variable "ports" {\n  type    = list(number)\n  default = [80, "http"]\n}\nstage "a" {\n  task "t" {}\n}\n',
      [[3, 13, /variable "ports": the default does not fit type list\(\.\.\.\): default\[1\]: /]],
    ],
    ['an unknown type', 'variable "x" {\n  type = strin\n}\nstage "a" {\n  task "t" {}\n}\n', [[2, 10, /Invalid type "strin"/]]],
    [
      'a default that refers to a variable',
      'variable "x" {\n  default = var.y\n}\nstage "a" {\n  task "t" {}\n}\n',
      [[2, 13, /default must be a value written out/]],
    ],
    [
      'stage_order that misses a stage and names an unknown one twice',
      'stage_order = ["a", "c", "a"]\nstage "a" {\n  task "t" {}\n}\nstage "b" {\n  task "t" {}\n}\n',
      [
        [1, 15, /stage_order must name every stage once; it leaves out "b"/],
        [1, 21, /stage_order names stage "c", which this template does not have/],
        [1, 26, /stage_order names stage "a" more than once/],
      ],
    ],
    [
      'a nested pipeline without template_id',
      'stage "a" {\n  pipeline "p" {\n    when = "manual"\n  }\n}\n',
      [[2, 3, /pipeline "p" of stage "a" needs template_id/]],
    ],
    ['a jwt without audience', 'jwt "aws" {}\nstage "a" {\n  task "t" {}\n}\n', [[1, 1, /jwt "aws" needs an audience/]]],
    [
      'a volume of another type',
      'volume "v" {\n  type = "s3"\n  vcs_options {\n    provider_id = "x"\n    repository_path = "y"\n  }\n}\nstage "a" {\n  task "t" {}\n}\n',
      [[2, 10, /type must be "vcs", not "s3"/]],
    ],
    ['a vcs_token without provider_id', 'vcs_token "gh" {}\nstage "a" {\n  task "t" {}\n}\n', [[1, 1, /vcs_token "gh" needs provider_id/]]],
    [
      'an undeclared jwt',
      'stage "a" {\n  task "t" {\n    action "exec_command" {\n      token = jwt.aws\n    }\n  }\n}\n',
      [[4, 15, /Unknown jwt block "aws"/]],
    ],
    [
      'a plugin requirement without source',
      'plugin_requirements {\n  tharsis = { version = "0.1.0" }\n}\nstage "a" {\n  task "t" {}\n}\n',
      [[2, 13, /plugin_requirements: tharsis must be \{ source = /]],
    ],
    [
      'a block written as an attribute',
      'stage "a" {\n  task "t" {\n    mount_point = { volume = "x" }\n  }\n}\n',
      [[3, 5, /"mount_point" is a block, not an attribute/]],
    ],
  ];

  it.each(cases)('refuses %s with each problem at its line and column', (_name, source, expected) => {
    const problems = problemsOf(source);
    expect(problems.map(({ line, column }) => [line, column])).toEqual(expected.map(([line, column]) => [line, column]));
    for (const [index, problem] of problems.entries()) expect(problem.message).toMatch(expected[index]![2]);
  });

  it('collects every problem of a template in one pass, in source order', () => {
    const problems = problemsOf('stge "x" {}\nstage "a" {\n  when = "never"\n  task "t" {\n    when = "sometimes"\n  }\n}\n');
    expect(problems.map((problem) => problem.line)).toEqual([1, 3, 5]);
  });
});
