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
			cloudformation.CreateStackSetInput // CloudFormation spells the StackSet as the API does
			StackInstancesGroup                []struct {
				DeploymentTargets *cfntypes.DeploymentTargets
				Regions           []string
			}
		}
		if err := tmpl.Decode(r, &p); err != nil {
			return names, fmt.Errorf("StackSet %s: %w", r.LogicalID, err)
		}
		name := aws.ToString(p.StackSetName)
		if _, err := cfn.CreateStackSet(ctx, &p.CreateStackSetInput); err != nil {
			return names, fmt.Errorf("create StackSet %s: %w", name, err)
		}
		for _, g := range p.StackInstancesGroup {
			in := &cloudformation.CreateStackInstancesInput{StackSetName: p.StackSetName, Regions: g.Regions, DeploymentTargets: g.DeploymentTargets}
			if _, err := cfn.CreateStackInstances(ctx, in); err != nil {
				return names, fmt.Errorf("create the instances of %s: %w", name, err)
			}
		}
		names = append(names, name)
	}
	return names, nil
}
