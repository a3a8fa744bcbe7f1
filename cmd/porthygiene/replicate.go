package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/shared/apply"
	"github.com/porthygiene/porthygiene/shared/cloud"
	"github.com/porthygiene/porthygiene/shared/engine"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/observe"
	"github.com/porthygiene/porthygiene/shared/policy"
	"github.com/porthygiene/porthygiene/shared/replicate"
	"github.com/porthygiene/porthygiene/shared/rule"
)

const replicateUsage = `usage: porthygiene replicate <init|plan|status> [flags]

  init    --primary REGION/SG --region R --vpc VPC [--name N] [--mode mirror|additive] [--map sg-a=sg-b,pl-x=pl-y]
          create a replica group in R/VPC, tag it as a replica of the primary
          (the tags declare the set: no policy edit), and bring it to the
          primary's rules (exposures and unmapped references left out)
  plan    [--set NAME] [--json]   what a reconcile would change, per replica
  status  every set, its replicas and whether they are in step

Sets come from the replicas' tags (porthygiene-replica-of …) in the regions of
--region (comma-separated; default the localcloud's or ALIBABA_CLOUD_REGION_ID)
and from the policy file's replication section (--policy).
`

func runReplicate(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		io.WriteString(env.stderr, replicateUsage)
		if len(args) == 0 {
			return usagef("replicate: want init, plan or status")
		}
		return errHelp
	}
	switch args[0] {
	case "init":
		return runReplicateInit(ctx, env, args[1:])
	case "plan":
		return runReplicatePlan(ctx, env, args[1:], false)
	case "status":
		return runReplicatePlan(ctx, env, args[1:], true)
	}
	return usagef("replicate %q: want init, plan or status", args[0])
}

// replicator is what plan, status and init share: the accounts' regions and
// the replicator's planner on the policy.
type replicator struct {
	rep   *replicate.Replicator
	pol   *policy.Policy
	conns map[string]*conn
	first *conn
}

func openReplicator(env *cliEnv, cf *cloudFlags, policyPath string, needLedger bool, more ...string) (*replicator, error) {
	pol := policy.Default()
	if policyPath != "" {
		var err error
		if pol, err = policy.Load(policyPath); err != nil {
			return nil, usageError{err}
		}
	}
	rep, err := replicate.New(pol, replicate.Config{})
	if err != nil {
		return nil, usageError{err}
	}
	regions := strings.Split(cf.region, ",")
	regions = append(regions, more...)
	regions = append(regions, replicateRegions(pol)...)
	slices.Sort(regions)
	f := *cf
	f.region = strings.Join(slices.DeleteFunc(slices.Compact(regions), func(s string) bool { return strings.TrimSpace(s) == "" }), ",")
	conns, err := f.openRegions(env, needLedger)
	if err != nil {
		return nil, err
	}
	r := &replicator{rep: rep, pol: pol, conns: map[string]*conn{}, first: conns[0]}
	for _, c := range conns {
		r.conns[c.region] = c
	}
	return r, nil
}

func replicateRegions(pol *policy.Policy) []string {
	if pol.Replication == nil {
		return nil
	}
	var out []string
	for _, s := range pol.Replication.Sets {
		refs := []string{s.Primary}
		for _, r := range s.Replicas {
			refs = append(refs, r.Group)
		}
		for _, ref := range refs {
			if g, err := replicate.ParseGroupRef(ref); err == nil {
				out = append(out, g.Region)
			}
		}
	}
	return out
}

func (r *replicator) cloudOf(region string) (engine.Cloud, error) {
	c, ok := r.conns[region]
	if !ok {
		return nil, usagef("region %s is not one of --region %v", region, r.regions())
	}
	return c.ecs, nil
}

func (r *replicator) regions() []string {
	var out []string
	for k := range r.conns {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (r *replicator) observer() *observe.Observer {
	var recs observe.Records
	if r.first.ledger != nil {
		recs = r.first.ledger
	}
	return observe.New(observe.Options{Ledger: recs, Now: time.Now()})
}

func runReplicatePlan(ctx context.Context, env *cliEnv, args []string, status bool) error {
	name := "replicate plan"
	synopsis := "[--set NAME] [--json] [--policy FILE] [flags]"
	if status {
		name, synopsis = "replicate status", "[--json] [--policy FILE] [flags]"
	}
	fs := newFlagSet(name, synopsis, env.stderr)
	var cf cloudFlags
	cf.register(fs)
	fs.Lookup("region").Usage = "regions whose groups' tags declare sets, comma-separated (default ALIBABA_CLOUD_REGION_ID, or localcloud's)"
	setName := new(string)
	if !status {
		fs.StringVar(setName, "set", "", "only this set")
	}
	asJSON := fs.Bool("json", false, "print JSON: "+`{"sets": [{"name", "mode", "primary", "replicas": [{"region", "securityGroupId", "add", "remove", "skipped"}]}]}`)
	policyPath := fs.String("policy", "", "policy file (default: the built-in policy); its replication section declares sets too")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	r, err := openReplicator(env, &cf, *policyPath, false)
	if err != nil {
		return err
	}
	w, err := replicate.Discover(ctx, r.cloudOf, r.pol.Replication, r.regions())
	if err != nil {
		if errors.Is(err, replicate.ErrConfig) {
			return usageError{err}
		}
		return err
	}
	rep := replicate.Report{Sets: []replicate.SetReport{}}
	found := false
	for _, set := range w.Sets {
		if *setName != "" && set.Name != *setName {
			continue
		}
		found = true
		sr, _, _, err := r.rep.PlanSet(ctx, r.cloudOf, r.observer(), w, set, time.Now())
		if err != nil {
			return err
		}
		rep.Sets = append(rep.Sets, sr)
	}
	if *setName != "" && !found {
		return usagef("--set %q: no such set (sets: %s)", *setName, setNames(w.Sets))
	}
	if *asJSON {
		return printJSON(env, rep)
	}
	writeReplicateText(env.stdout, rep, status)
	return nil
}

func setNames(sets []replicate.Set) string {
	var out []string
	for _, s := range sets {
		out = append(out, s.Name)
	}
	return cmp.Or(strings.Join(out, ", "), "none")
}

func writeReplicateText(w io.Writer, rep replicate.Report, status bool) {
	if len(rep.Sets) == 0 {
		fmt.Fprintln(w, "no replication set (tag a replica with porthygiene-replica-of=REGION/sg-…, or run `porthygiene replicate init`)")
		return
	}
	for _, s := range rep.Sets {
		fmt.Fprintf(w, "set %s (%s), primary %s/%s\n", s.Name, s.Mode, s.Primary.Region, s.Primary.GroupID)
		for _, r := range s.Replicas {
			state := "in step"
			switch {
			case r.Error != "":
				state = "NOT READ: " + r.Error
			case !r.InStep():
				state = fmt.Sprintf("NOT in step: %d to add, %d to remove", len(r.Add), len(r.Remove))
			}
			if len(r.Skipped) > 0 {
				state += fmt.Sprintf(" (%d primary rule(s) not copied)", len(r.Skipped))
			}
			fmt.Fprintf(w, "  replica %s/%s: %s\n", r.Region, r.GroupID, state)
			if status {
				continue
			}
			for _, x := range r.Add {
				fmt.Fprintf(w, "    + %s\n", ruleText(x))
			}
			for _, x := range r.Remove {
				fmt.Fprintf(w, "    - %s\n", ruleText(x))
			}
			for _, x := range r.Skipped {
				fmt.Fprintf(w, "    ! %s: %s\n", ruleText(x.Rule), x.Reason)
			}
		}
	}
}

func ruleText(r replicate.RuleJSON) string {
	s := fmt.Sprintf("%s %s %s %s %s priority %d", r.Direction, r.Protocol, r.PortRange, r.Source, r.Policy, r.Priority)
	if r.Description != "" {
		s += fmt.Sprintf(" %q", r.Description)
	}
	return s
}

// groupCreator is what init needs beyond the engine's Cloud (ecsapi).
type groupCreator interface {
	CreateGroup(ctx context.Context, vpcID, name, description string) (string, error)
	TagGroup(ctx context.Context, groupID string, tags map[string]string) error
}

func runReplicateInit(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("replicate init", "--primary REGION/SG --region R --vpc VPC [--name N] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	fs.Lookup("region").Usage = "the replica's region (required)"
	primaryRef := fs.String("primary", "", "the primary group, REGION/sg-… (required)")
	vpc := fs.String("vpc", "", "the VPC of the replica (required)")
	name := fs.String("name", "", "the replica's name (default: the primary's)")
	setName := fs.String("set", "", "the set's name (default: the primary's group id)")
	mode := fs.String("mode", "mirror", "mirror (the replica's rules are the primary's) or additive (replica-only rules are kept)")
	refMap := fs.String("map", "", "explicit reference map into the replica's region: sg-a=sg-b,pl-x=pl-y")
	policyPath := fs.String("policy", "", "policy file (default: the built-in policy): what an exposure is")
	dryRun := fs.Bool("dry-run", false, "print what would be created and copied, change nothing")
	asJSON := fs.Bool("json", false, "print the replica's plan as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	primary, err := replicate.ParseGroupRef(*primaryRef)
	if err != nil {
		return usagef("--primary: %v", err)
	}
	if cf.region == "" || strings.Contains(cf.region, ",") {
		return usagef("--region: the replica's region, one")
	}
	if *vpc == "" {
		return usagef("--vpc is required")
	}
	md, err := replicate.ParseMode(*mode)
	if err != nil {
		return usagef("--mode: %v", err)
	}
	m, err := replicate.ParseMap(*refMap)
	if err != nil {
		return usagef("--map: %v", err)
	}
	replicaRegion := cf.region
	r, err := openReplicator(env, &cf, *policyPath, !*dryRun, primary.Region)
	if err != nil {
		return err
	}
	pcl, _ := r.cloudOf(primary.Region)
	groups, err := pcl.ListGroups(ctx, cloud.ListOptions{GroupIDs: []string{primary.GroupID}})
	if err != nil {
		return err
	}
	if len(groups) == 0 {
		return usagef("--primary %s: no such group", primary)
	}
	rcl, _ := r.cloudOf(replicaRegion)
	tags := map[string]string{replicate.TagReplicaOf: primary.String(), replicate.TagSet: cmp.Or(*setName, primary.GroupID), replicate.TagMode: string(md)}
	if len(m) > 0 {
		tags[replicate.TagMap] = replicate.FormatMap(m)
	}
	replicaName := cmp.Or(*name, groups[0].Name)
	// The set as it will be, validated with every other set before anything
	// is created (a replica that is also a primary, a name taken …).
	w, err := replicate.Discover(ctx, r.cloudOf, r.pol.Replication, r.regions())
	if err != nil {
		return usageError{err}
	}
	// Validated with the new replica under a placeholder id first: nothing
	// is created for a set that would not hold together.
	load := func(id string) (replicate.Set, error) {
		tagged := []replicate.Tagged{{GroupRef: replicate.GroupRef{Region: replicaRegion, GroupID: id}, Tags: tags}}
		for region, gs := range w.Groups {
			for _, g := range gs {
				if _, ok := g.Tags[replicate.TagReplicaOf]; ok && g.ID != id {
					tagged = append(tagged, replicate.Tagged{GroupRef: replicate.GroupRef{Region: region, GroupID: g.ID}, Tags: g.Tags})
				}
			}
		}
		sets, err := replicate.Load(r.pol.Replication, tagged)
		if err != nil {
			return replicate.Set{}, usageError{err}
		}
		w.Sets = sets
		set, _ := replicate.SetOf(sets, replicate.GroupRef{Region: replicaRegion, GroupID: id})
		set.Replicas = slices.DeleteFunc(set.Replicas, func(x replicate.Replica) bool { return x.GroupID != id || x.Region != replicaRegion })
		return set, nil
	}
	newID := "sg-new-replica"
	set, err := load(newID)
	if err != nil {
		return err
	}
	if !*dryRun {
		gc, ok := rcl.(groupCreator)
		if !ok {
			return fmt.Errorf("replicate init: this cloud cannot create groups: %w", cloud.ErrInvalid)
		}
		if newID, err = gc.CreateGroup(ctx, *vpc, replicaName, "replica of "+primary.String()+" (porthygiene replicate init)"); err != nil {
			return err
		}
		if err := gc.TagGroup(ctx, newID, tags); err != nil {
			return fmt.Errorf("group %s created, but not tagged as a replica (tag it, or delete it): %w", newID, err)
		}
		if set, err = load(newID); err != nil {
			return err
		}
	}
	replica := replicate.GroupRef{Region: replicaRegion, GroupID: newID}
	w.Groups[replicaRegion] = append(w.Groups[replicaRegion], cloud.Group{ID: newID, Name: replicaName, VpcID: *vpc, Region: replicaRegion, Tags: tags})
	var sr replicate.SetReport
	var plans []replicate.ReplicaPlan
	var states []observe.State
	if *dryRun {
		// The new group is empty: plan against no rules.
		sr, plans, states, err = r.rep.PlanSet(ctx, emptyReplica(r.cloudOf, replica), r.observer(), w, set, time.Now())
	} else {
		sr, plans, states, err = r.rep.PlanSet(ctx, r.cloudOf, r.observer(), w, set, time.Now())
	}
	if err != nil {
		return err
	}
	if sr.Replicas[0].Error != "" {
		return errors.New(sr.Replicas[0].Error)
	}
	if !*dryRun {
		steps := replicate.Steps(plans[0])
		steps.Set, steps.Primary = set.Name, primary.String()
		a := &apply.Applier{Function: "replicate-init", Ledger: r.first.ledger, Cap: apply.NewCap(replicate.MaxChangesPerRun), Now: time.Now().UTC()}
		cause := apply.Cause{Event: ledger.EventContext{Source: "cli", ActorUserName: r.first.user}}
		if _, err := a.Apply(ctx, rcl, states[0], steps, cause); err != nil {
			return fmt.Errorf("replica %s created and tagged, but not brought in step (the replicator's next reconcile will): %w", replica, err)
		}
	}
	if *asJSON {
		return printJSON(env, replicate.Report{Sets: []replicate.SetReport{sr}})
	}
	verb := "created"
	if *dryRun {
		verb = "would create"
	}
	fmt.Fprintf(env.stdout, "%s replica %s (%q in %s) of %s, set %s (%s)\n", verb, replica, replicaName, *vpc, primary, set.Name, md)
	writeReplicateText(env.stdout, replicate.Report{Sets: []replicate.SetReport{sr}}, false)
	return nil
}

// emptyReplica answers the new replica's rules (none) in a dry run, where it
// does not exist yet.
func emptyReplica(cloudOf func(string) (engine.Cloud, error), replica replicate.GroupRef) func(string) (engine.Cloud, error) {
	return func(region string) (engine.Cloud, error) {
		cl, err := cloudOf(region)
		if err != nil || region != replica.Region {
			return cl, err
		}
		return noRules{Cloud: cl, id: replica.GroupID}, nil
	}
}

type noRules struct {
	engine.Cloud
	id string
}

func (n noRules) DescribeRules(ctx context.Context, groupID string) (rule.Attribute, error) {
	if groupID == n.id {
		return rule.Attribute{GroupID: groupID}, nil
	}
	return n.Cloud.DescribeRules(ctx, groupID)
}
