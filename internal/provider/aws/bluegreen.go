package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
)

// RoleBlueGreen tags a blue/green deployment created by a run.
const RoleBlueGreen Role = "blue-green"

// BlueGreen is an RDS blue/green deployment.
type BlueGreen struct {
	ID, Name, Status string
	SourceARN        string
	TargetARN        string
	Tags             map[string]string
}

func fromBlueGreen(d rdstypes.BlueGreenDeployment) BlueGreen {
	return BlueGreen{ID: awssdk.ToString(d.BlueGreenDeploymentIdentifier), Name: awssdk.ToString(d.BlueGreenDeploymentName),
		Status: awssdk.ToString(d.Status), SourceARN: awssdk.ToString(d.Source), TargetARN: awssdk.ToString(d.Target),
		Tags: tagMap(d.TagList)}
}

// BlueGreenRequest asks for a green copy of the source at a new version.
type BlueGreenRequest struct {
	RunID                string
	Name                 string
	SourceID             string
	TargetEngineVersion  string
	TargetParameterGroup string
	TargetInstanceClass  string
}

// CreateBlueGreen creates (or adopts, by name and run tag) a blue/green
// deployment.
func (p *Provider) CreateBlueGreen(ctx context.Context, r BlueGreenRequest) (BlueGreen, error) {
	out, err := p.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{
		Filters: []rdstypes.Filter{{Name: awssdk.String("blue-green-deployment-name"), Values: []string{r.Name}}},
	})
	if err != nil {
		return BlueGreen{}, fmt.Errorf("looking for blue/green deployment %s: %w", r.Name, err)
	}
	for _, d := range out.BlueGreenDeployments {
		bg := fromBlueGreen(d)
		if !ours(bg.Tags, r.RunID, RoleBlueGreen) {
			return bg, fmt.Errorf("blue/green deployment %s: %w", r.Name, ErrNotOurs)
		}
		p.log.Info("adopting blue/green deployment of this run", "id", bg.ID, "status", bg.Status)
		return bg, nil
	}
	src, err := p.DescribeInstance(ctx, r.SourceID)
	if err != nil {
		return BlueGreen{}, err
	}
	in := &rds.CreateBlueGreenDeploymentInput{
		BlueGreenDeploymentName: awssdk.String(r.Name),
		Source:                  awssdk.String(src.ARN),
		Tags:                    rdsTags(runTags(r.RunID, RoleBlueGreen)),
	}
	if r.TargetEngineVersion != "" {
		in.TargetEngineVersion = awssdk.String(r.TargetEngineVersion)
	}
	if r.TargetParameterGroup != "" {
		in.TargetDBParameterGroupName = awssdk.String(r.TargetParameterGroup)
	}
	if r.TargetInstanceClass != "" {
		in.TargetDBInstanceClass = awssdk.String(r.TargetInstanceClass)
	}
	created, err := p.rds.CreateBlueGreenDeployment(ctx, in)
	if err != nil {
		return BlueGreen{}, fmt.Errorf("creating blue/green deployment %s of %s: %w", r.Name, r.SourceID, err)
	}
	return fromBlueGreen(*created.BlueGreenDeployment), nil
}

// DescribeBlueGreen returns one deployment; ErrNotFound when it is gone.
func (p *Provider) DescribeBlueGreen(ctx context.Context, id string) (BlueGreen, error) {
	out, err := p.rds.DescribeBlueGreenDeployments(ctx, &rds.DescribeBlueGreenDeploymentsInput{BlueGreenDeploymentIdentifier: awssdk.String(id)})
	if errorCode(err) == "BlueGreenDeploymentNotFoundFault" {
		return BlueGreen{}, fmt.Errorf("describing blue/green deployment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return BlueGreen{}, fmt.Errorf("describing blue/green deployment %s: %w", id, err)
	}
	if len(out.BlueGreenDeployments) != 1 {
		return BlueGreen{}, fmt.Errorf("describing blue/green deployment %s: %d answers: %w", id, len(out.BlueGreenDeployments), ErrNotFound)
	}
	return fromBlueGreen(out.BlueGreenDeployments[0]), nil
}

var failedBlueGreenStates = map[string]bool{
	"INVALID_CONFIGURATION": true, "SWITCHOVER_FAILED": true, "PROVISIONING_FAILED": true,
}

// WaitBlueGreen polls until the deployment reaches status want (AVAILABLE
// after create, SWITCHOVER_COMPLETED after switchover).
func (p *Provider) WaitBlueGreen(ctx context.Context, id, want string, o WaitOptions) (BlueGreen, error) {
	var last BlueGreen
	err := p.poll(ctx, "blue/green deployment "+id+" to be "+want, o, func() (bool, Progress, error) {
		bg, err := p.DescribeBlueGreen(ctx, id)
		if err != nil {
			return false, Progress{}, err
		}
		last = bg
		pr := Progress{Kind: "blue-green", ID: id, Status: bg.Status, Percent: -1}
		if failedBlueGreenStates[bg.Status] {
			return false, pr, fmt.Errorf("blue/green deployment %s is %s: %w", id, bg.Status, ErrFailed)
		}
		return bg.Status == want, pr, nil
	})
	return last, err
}

// SwitchoverBlueGreen starts the switchover, which RDS abandons (rolling
// back) when it takes longer than timeout, and waits for it to complete.
func (p *Provider) SwitchoverBlueGreen(ctx context.Context, id string, timeout time.Duration, o WaitOptions) (BlueGreen, error) {
	in := &rds.SwitchoverBlueGreenDeploymentInput{BlueGreenDeploymentIdentifier: awssdk.String(id)}
	if timeout > 0 {
		in.SwitchoverTimeout = awssdk.Int32(int32(timeout / time.Second))
	}
	if _, err := p.rds.SwitchoverBlueGreenDeployment(ctx, in); err != nil {
		return BlueGreen{}, fmt.Errorf("switching over blue/green deployment %s: %w", id, err)
	}
	return p.WaitBlueGreen(ctx, id, "SWITCHOVER_COMPLETED", o)
}

// DeleteBlueGreen deletes the deployment; deleteTarget also deletes the
// green instance, which RDS only allows before a switchover.
func (p *Provider) DeleteBlueGreen(ctx context.Context, id string, deleteTarget bool) error {
	_, err := p.rds.DeleteBlueGreenDeployment(ctx, &rds.DeleteBlueGreenDeploymentInput{
		BlueGreenDeploymentIdentifier: awssdk.String(id), DeleteTarget: awssdk.Bool(deleteTarget)})
	if err != nil && errorCode(err) != "BlueGreenDeploymentNotFoundFault" {
		return fmt.Errorf("deleting blue/green deployment %s: %w", id, err)
	}
	return nil
}
