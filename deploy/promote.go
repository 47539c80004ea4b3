package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parcelflow/conveyor/config"

	"github.com/parcelflow/conveyor/deploy/release"
	"github.com/parcelflow/conveyor/store"
)

// Promotion states.
const (
	PromotionWaiting = "waiting"
	PromotionDone    = "done"
)

// ErrGate is wrapped by errors that refuse a promotion because the previous
// environment has not run the release green.
var ErrGate = errors.New("promotion gate")

// Gate checks that env may take the release: the environment before it in
// the chain ran it to success (smoke tests included). The first environment
// has no gate.
func (e *Engine) Gate(ctx context.Context, releaseID, env string) error {
	_, err := e.gate(ctx, releaseID, env)
	return err
}

// gate is Gate returning the previous environment's successful deployment
// of the release (nil for the first environment).
func (e *Engine) gate(ctx context.Context, releaseID, env string) (*Deployment, error) {
	prevEnv, ok := e.opts.Config.Previous(env)
	if !ok {
		return nil, nil
	}
	hist, err := e.History(ctx, prevEnv, 0)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		if h.ReleaseID != releaseID {
			continue
		}
		if h.State == StateSucceeded {
			return h, nil
		}
		return nil, fmt.Errorf("%w: release %s %s in %s (%s)", ErrGate, release.Short(releaseID), h.State, prevEnv, h.Error)
	}
	return nil, fmt.Errorf("%w: release %s has not run in %s yet", ErrGate, release.Short(releaseID), prevEnv)
}

// Promote deploys a release to env on a person's command (/promote env),
// after the gate unless req.BreakGlass, and closes a waiting promotion.
func (e *Engine) Promote(ctx context.Context, req Request) (*Deployment, error) {
	if !req.BreakGlass {
		if err := e.Gate(ctx, req.ReleaseID, req.Env); err != nil {
			return nil, err
		}
	}
	if req.Reason == "" {
		req.Reason = "promote"
	}
	d, err := e.Deploy(ctx, req)
	if err == nil {
		now := e.now()
		_ = e.opts.DB.PutPromotion(ctx, store.Promotion{Repo: e.opts.Repo, ReleaseID: req.ReleaseID, Env: req.Env, State: PromotionDone, Reason: "promoted by @" + req.Actor, CreatedAt: now, UpdatedAt: now})
	}
	return d, err
}

// FlowRequest is a push to the default branch, for Flow.
type FlowRequest struct {
	ReleaseID string
	// Actor is who merged.
	Actor string
	// SHA and PR are the pushed commit and the PR it merged (see Request).
	SHA string
	PR  int
	// CommittedAt is when the change was first committed (see Request).
	CommittedAt time.Time
	// Risk is the risk decided for this commit; empty: the release's own.
	// It is the commit's, not the release's: the same content can arrive by
	// another change (a revert) and be judged differently.
	Risk string
}

// FlowResult is what the merge flow did.
type FlowResult struct {
	ReleaseID   string
	Deployments []*Deployment
	// StoppedAt is the environment the flow did not enter, if any, and why.
	StoppedAt string
	Reason    string
}

// Flow is what a push to the default branch sets off: the release goes
// through the chain (dev → staging → prod), each environment gated on the
// one before it. A high-risk release stops before the last environment and
// waits for /promote; so does any environment with auto_promote off.
// Environments already running the release are skipped.
func (e *Engine) Flow(ctx context.Context, req FlowRequest) (*FlowResult, error) {
	rel, err := e.Release(ctx, req.ReleaseID)
	if err != nil {
		return nil, err
	}
	risk := cmp.Or(req.Risk, rel.Risk)
	res := &FlowResult{ReleaseID: rel.ID}
	if ad := e.opts.Config.Deploy.AutoDeploy; ad != nil && !*ad {
		res.Reason = "auto_deploy is off in .conveyor.yml"
		return res, nil
	}
	envs := e.opts.Config.Environments
	wait := func(env, why string) (*FlowResult, error) {
		now := e.now()
		if err := e.opts.DB.PutPromotion(ctx, store.Promotion{Repo: e.opts.Repo, ReleaseID: rel.ID, Env: env, State: PromotionWaiting, Reason: why, CreatedAt: now, UpdatedAt: now}); err != nil {
			return res, err
		}
		res.StoppedAt, res.Reason = env, why
		return res, nil
	}
	for i := range envs {
		env := &envs[i]
		last := i == len(envs)-1
		switch {
		case last && risk != "low":
			return wait(env.Name, fmt.Sprintf("%s risk: waiting for /promote %s", risk, env.Name))
		case !env.AutoPromotes():
			return wait(env.Name, fmt.Sprintf("auto_promote is off for %s: waiting for /promote %s", env.Name, env.Name))
		}
		if i > 0 {
			if soak := soakOf(&envs[i-1], risk); soak > 0 {
				return wait(env.Name, fmt.Sprintf("soaking in %s for %s: waiting for /promote %s", envs[i-1].Name, soak, env.Name))
			}
		}
		prev, err := e.gate(ctx, rel.ID, env.Name)
		if err != nil {
			res.StoppedAt, res.Reason = env.Name, err.Error()
			return res, nil
		}
		cur, err := e.Current(ctx, env.Name)
		if err != nil {
			return res, err
		}
		if cur != nil && cur.ReleaseID == rel.ID {
			continue
		}
		if e.opts.Hold != nil {
			why, err := e.opts.Hold(ctx, FlowStep{Env: env.Name, Release: rel, Previous: prev})
			if err != nil {
				return res, fmt.Errorf("deciding the gates of %s: %w", env.Name, err)
			}
			if why != "" {
				return wait(env.Name, why+": waiting for /promote "+env.Name)
			}
		}
		d, err := e.Deploy(ctx, Request{ReleaseID: rel.ID, Env: env.Name, Actor: req.Actor, Reason: "merge", SHA: req.SHA, PR: req.PR, CommittedAt: req.CommittedAt})
		if d != nil {
			res.Deployments = append(res.Deployments, d)
		}
		if err != nil {
			res.StoppedAt, res.Reason = env.Name, err.Error()
			return res, err
		}
	}
	return res, nil
}

// soakOf is how long a release of risk must run green in env before the
// next environment may take it.
func soakOf(env *config.Environment, risk string) time.Duration {
	if risk == "low" {
		return env.Soak.Low.D()
	}
	return env.Soak.High.D()
}
