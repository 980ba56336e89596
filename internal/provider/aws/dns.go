package aws

import (
	"context"
	"fmt"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// CNAMERequest points an application name at the new instance.
type CNAMERequest struct {
	ZoneID string // hosted zone id, with or without "/hostedzone/"
	Name   string
	Target string // the new instance's endpoint address
	// TTL defaults to 5 seconds: clients must follow the switch quickly.
	TTL int64
}

// UpsertCNAME writes the record and waits until Route53 reports the change
// INSYNC on all its authoritative servers.
func (p *Provider) UpsertCNAME(ctx context.Context, r CNAMERequest, o WaitOptions) error {
	out, err := p.r53.ChangeResourceRecordSets(ctx, cnameInput(r))
	if err != nil {
		return fmt.Errorf("upserting CNAME %s -> %s: %w", r.Name, r.Target, err)
	}
	changeID := awssdk.ToString(out.ChangeInfo.Id)
	p.log.Info("route53 change submitted", "name", r.Name, "target", r.Target, "change", changeID)
	return p.poll(ctx, "route53 change "+changeID, o, func() (bool, Progress, error) {
		c, err := p.r53.GetChange(ctx, &route53.GetChangeInput{Id: awssdk.String(changeID)})
		if err != nil {
			return false, Progress{}, fmt.Errorf("reading route53 change %s: %w", changeID, err)
		}
		st := string(c.ChangeInfo.Status)
		return c.ChangeInfo.Status == r53types.ChangeStatusInsync, Progress{Kind: "dns-change", ID: changeID, Status: st, Percent: -1}, nil
	})
}

func cnameInput(r CNAMERequest) *route53.ChangeResourceRecordSetsInput {
	if r.TTL <= 0 {
		r.TTL = 5
	}
	return &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: awssdk.String(r.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: awssdk.String("dbshift switch of " + r.Name),
			Changes: []r53types.Change{{
				Action: r53types.ChangeActionUpsert,
				ResourceRecordSet: &r53types.ResourceRecordSet{
					Name:            awssdk.String(r.Name),
					Type:            r53types.RRTypeCname,
					TTL:             awssdk.Int64(r.TTL),
					ResourceRecords: []r53types.ResourceRecord{{Value: awssdk.String(r.Target)}},
				},
			}},
		},
	}
}

// CNAME reads the current target of a CNAME record ("" when absent).
func (p *Provider) CNAME(ctx context.Context, zoneID, name string) (string, int64, error) {
	out, err := p.r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:    awssdk.String(zoneID),
		StartRecordName: awssdk.String(name),
		StartRecordType: r53types.RRTypeCname,
		MaxItems:        awssdk.Int32(1),
	})
	if err != nil {
		return "", 0, fmt.Errorf("reading CNAME %s: %w", name, err)
	}
	for _, rs := range out.ResourceRecordSets {
		if fqdn(awssdk.ToString(rs.Name)) == fqdn(name) && rs.Type == r53types.RRTypeCname && len(rs.ResourceRecords) > 0 {
			return awssdk.ToString(rs.ResourceRecords[0].Value), awssdk.ToInt64(rs.TTL), nil
		}
	}
	return "", 0, nil
}

func fqdn(n string) string {
	if len(n) > 0 && n[len(n)-1] != '.' {
		return n + "."
	}
	return n
}
