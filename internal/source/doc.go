// Package source reads the task definitions that a file, a CDK cloud
// assembly or a CloudFormation Hook request holds, and says where each
// container is: the one input layer of `ecslogfix check` and of the
// CloudFormation Hook. Formats are recognised by content, never by file
// name:
//
//   - describe-task-definition output ({"taskDefinition": …, "tags": …}),
//     a bare task definition, or a register-task-definition input, in JSON
//     or YAML (the AWS CLI's --cli-input-yaml): field names and types as in
//     the ECS API, decoded by the AWS SDK's own deserializer;
//   - a CloudFormation template, JSON or YAML, long or short intrinsic
//     forms: every AWS::ECS::TaskDefinition;
//   - a CDK cloud assembly (a cdk.out directory or its manifest.json):
//     every stack template, nested assemblies (stages) included;
//   - a Terraform plan (`terraform show -json PLANFILE`): every
//     aws_ecs_task_definition in resource_changes and planned_values, its
//     container_definitions decoded from the JSON string.
//
// A value the file cannot know (a CloudFormation intrinsic, Terraform's
// "known after apply") is never guessed: it is reported as Unresolved, with
// the slot of the policy it fills, for the caller to judge. Every string is
// the file's own: escape it before printing. Pure apart from reading files.
package source
