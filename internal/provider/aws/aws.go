// Package aws is dbshift's control plane on Amazon RDS: the read replica,
// snapshots, the encrypted copy, the restore, the deny-all security group,
// the Route53 switch and log download of runbook 1, through aws-sdk-go-v2.
//
// Every resource it creates carries the tags dbshift:run-id and dbshift:role,
// and every create first looks for a resource of the run with that role, so a
// run resumed after a crash adopts what it started instead of starting it
// again. The SQL half (mysql.rds_* procedures) lives in the replication
// package, not here.
package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"

	"github.com/dbshift/dbshift/internal/provider"
)

// Tag keys put on every resource dbshift creates (the provider package's).
const (
	TagRunID = provider.TagRunID
	TagRole  = provider.TagRole
)

// Role says what a tagged resource is for in a run.
type Role string

// Roles of the resources of runbook 1, with the provider package's values.
const (
	RoleReplica       Role = provider.RoleTempReplica
	RoleSnapshot      Role = provider.RoleSnapshot
	RoleEncryptedCopy Role = provider.RoleEncryptedCopy
	RoleTarget        Role = provider.RoleTarget
	RoleFence         Role = provider.RoleFenceGroup
)

// Errors callers branch on.
var (
	ErrTimeout        = errors.New("timed out")
	ErrFailed         = errors.New("resource entered a failed state")
	ErrNotEncrypted   = errors.New("storage is not encrypted")
	ErrNotOurs        = errors.New("resource exists but was not created by this run")
	ErrNotFound       = errors.New("not found")
	ErrKMSKeyRequired = errors.New("a KMS key is required to copy a snapshot encrypted")
)

// Clock is the time source of every wait. Tests pass the fake's virtual
// clock, whose Sleep advances the fake instead of blocking.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Config says how to reach AWS.
type Config struct {
	Region string
	// Profile names a shared-config profile; empty uses the SDK's default chain.
	Profile string
	// Endpoint overrides every service's endpoint (tests: the fake's URL).
	Endpoint string
	// Credentials overrides the SDK's default credential chain.
	Credentials awssdk.CredentialsProvider
	HTTPClient  *http.Client
	Clock       Clock
	Logger      *slog.Logger
	// PollMin and PollMax bound the backoff between two polls of a wait
	// (defaults 5s and 30s, like the SDK's RDS waiters' lower range).
	PollMin, PollMax time.Duration
	// RetryMaxAttempts and RetryMaxBackoff tune the SDK's retries of
	// throttled and transient errors (defaults 10 and 20s).
	RetryMaxAttempts int
	RetryMaxBackoff  time.Duration
}

// Provider talks to RDS, EC2 and Route53.
type Provider struct {
	rds     *rds.Client
	ec2     *ec2.Client
	r53     *route53.Client
	clock   Clock
	log     *slog.Logger
	pollMin time.Duration
	pollMax time.Duration
}

// New builds the SDK clients.
func New(ctx context.Context, c Config) (*Provider, error) {
	if c.RetryMaxAttempts <= 0 {
		c.RetryMaxAttempts = 10
	}
	if c.RetryMaxBackoff <= 0 {
		c.RetryMaxBackoff = 20 * time.Second
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() awssdk.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = c.RetryMaxAttempts
				o.MaxBackoff = c.RetryMaxBackoff
				// The client-side retry quota (500 tokens) exists to protect
				// busy data-plane callers; a migration makes few, slow calls
				// and must not give up on a throttling burst during a long wait.
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if c.Region != "" {
		opts = append(opts, config.WithRegion(c.Region))
	}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	if c.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(c.Credentials))
	}
	if c.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	var endpoint *string
	if c.Endpoint != "" {
		endpoint = awssdk.String(c.Endpoint)
	}
	p := &Provider{
		rds:     rds.NewFromConfig(cfg, func(o *rds.Options) { o.BaseEndpoint = endpoint }),
		ec2:     ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = endpoint }),
		r53:     route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = endpoint }),
		clock:   c.Clock,
		log:     c.Logger,
		pollMin: c.PollMin,
		pollMax: c.PollMax,
	}
	if p.clock == nil {
		p.clock = realClock{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.pollMin <= 0 {
		p.pollMin = 5 * time.Second
	}
	if p.pollMax < p.pollMin {
		p.pollMax = max(30*time.Second, p.pollMin)
	}
	return p, nil
}

// errorCode is the AWS error code of err ("" when it is not an API error).
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func runTags(runID string, role Role) map[string]string {
	return map[string]string{TagRunID: runID, TagRole: string(role)}
}

func ours(tags map[string]string, runID string, role Role) bool {
	return tags[TagRunID] == runID && tags[TagRole] == string(role)
}

// Progress is one observation of a wait.
type Progress struct {
	Kind    string // instance, snapshot, dns-change, security-groups
	ID      string
	Status  string
	Percent int // 0..100 where the API reports it (snapshots), else -1
	Elapsed time.Duration
}

// WaitOptions bound a wait.
type WaitOptions struct {
	// Timeout is measured on the provider's clock; 0 means no limit but ctx.
	Timeout  time.Duration
	Progress func(Progress)
}

// poll calls check until it reports done, with backoff between calls, until
// the timeout on the provider's clock or ctx ends.
func (p *Provider) poll(ctx context.Context, what string, o WaitOptions, check func() (done bool, pr Progress, err error)) error {
	start := p.clock.Now()
	delay := p.pollMin
	for {
		done, pr, err := check()
		if err != nil {
			return err
		}
		pr.Elapsed = p.clock.Now().Sub(start)
		if o.Progress != nil {
			o.Progress(pr)
		}
		if done {
			return nil
		}
		if o.Timeout > 0 && pr.Elapsed >= o.Timeout {
			return fmt.Errorf("waiting for %s (last status %q, %d%%) after %s: %w", what, pr.Status, pr.Percent, pr.Elapsed, ErrTimeout)
		}
		if o.Timeout > 0 {
			delay = min(delay, o.Timeout-pr.Elapsed)
		}
		if err := p.clock.Sleep(ctx, delay); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		delay = min(delay*3/2, p.pollMax)
	}
}
