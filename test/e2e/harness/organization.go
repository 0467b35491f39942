package harness

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// DeployStackSets creates the template's AWS::CloudFormation::StackSet
// resources with base (the management account) and their instances on
// their target OUs: moto's CloudFormation deploys each member template
// into every account-region of those OUs and their child OUs, with the
// StackSet's parameters. It returns the StackSets' names.
func DeployStackSets(ctx context.Context, base aws.Config, tmpl *Template) ([]string, error) {
	cfn := cloudformation.NewFromConfig(base)
	var names []string
	for _, r := range tmpl.Resources("AWS::CloudFormation::StackSet") {
		var p struct {
			StackSetName, TemplateBody, PermissionModel string
			Capabilities                                []cfntypes.Capability
			Parameters                                  []cfntypes.Parameter
			StackInstancesGroup                         []struct {
				DeploymentTargets struct{ OrganizationalUnitIds []string }
				Regions           []string
			}
		}
		if err := tmpl.Decode(r, &p); err != nil {
			return names, fmt.Errorf("StackSet %w", err)
		}
		if _, err := cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{StackSetName: aws.String(p.StackSetName), TemplateBody: aws.String(p.TemplateBody),
			PermissionModel: cfntypes.PermissionModels(p.PermissionModel), Capabilities: p.Capabilities, Parameters: p.Parameters}); err != nil {
			return names, fmt.Errorf("create StackSet %s: %w", p.StackSetName, err)
		}
		for _, g := range p.StackInstancesGroup {
			if _, err := cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{StackSetName: aws.String(p.StackSetName), Regions: g.Regions,
				DeploymentTargets: &cfntypes.DeploymentTargets{OrganizationalUnitIds: g.DeploymentTargets.OrganizationalUnitIds}}); err != nil {
				return names, fmt.Errorf("create the instances of %s: %w", p.StackSetName, err)
			}
		}
		names = append(names, p.StackSetName)
	}
	return names, nil
}
