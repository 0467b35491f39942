// Package config is the one source of truth for ecslogfix's configuration:
// the deployment configuration the CDK app reads from cdk.json context, the
// runtime configuration the functions read from their environment, the
// names of resources and tags, and the mapping between them.
package config
