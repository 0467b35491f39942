// Package config is the one source of truth for ecslogfix's configuration:
// the deployment configuration the CDK app reads from cdk.json context, the
// names of resources and tags, and the mapping between them. The runtime
// configuration the functions read from their environment is
// internal/config/fnenv's.
package config
