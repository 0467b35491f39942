// Package remediation is the AWS-facing shell around the pure core: it
// reads task definitions, starts the remediation workflow (Detector and the
// scheduled sweep), ensures log groups and registers compliant revisions
// (Remediator). Every AWS call goes through a small interface declared here,
// so the rules are tested with fakes and the same code runs in the Lambdas
// and the CLI.
//
// Logs are JSON (log/slog) with stable keys: msg (ignored, compliant,
// started, duplicate, register, log group created/exists, sweep …), reason
// (see the Ignore* constants), eventId, account, region, family, revision,
// taskDefinitionArn, executionName, executionArn, outcome, sweepId, error.
// Metrics are CloudWatch embedded metric format lines in namespace
// config.MetricNamespace (see Metrics).
//
// Nothing this package logs, returns or passes to Step Functions carries
// container environment values, secrets or the raw CloudTrail body: inputs
// and results are built from workflow types and redacted plans only.
package remediation
