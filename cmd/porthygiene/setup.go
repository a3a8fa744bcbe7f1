package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/porthygiene/porthygiene/deploy"
	"github.com/porthygiene/porthygiene/localcloud/sconfig"
	"github.com/porthygiene/porthygiene/shared/accountapi"
	"github.com/porthygiene/porthygiene/shared/flowevidence"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

const setupNotes = `
Reads the account's settings from s.yaml as ` + "`s deploy`" + ` renders it (with this
environment: PORTHYGIENE_REGION, PORTHYGIENE_ROLE, LEDGER_PROJECT, LEDGER_LOGSTORE,
ACTIONTRAIL_PROJECT, ACTIONTRAIL_LOGSTORE); the flags override them.

Creates what is missing and safe to create: the ledger's SLS project and
logstore, the ledger index (every field the ledger queries, as text; an index
that lacks some is updated, keeping the rest), the SLS trigger's log logstore
and the ActionTrail project. Checks what it cannot create: the ActionTrail
logstore and the trail delivering to it, the functions' RAM role, its trust
policy and its policy (deploy/ram). Each ✘ comes with the command or console
path that fixes it. --dry-run shows the plan and changes nothing.

Credentials: --endpoints (localcloud), else ALIBABA_CLOUD_ACCESS_KEY_ID /
ALIBABA_CLOUD_ACCESS_KEY_SECRET (/ ALIBABA_CLOUD_SECURITY_TOKEN); optional
SLS_ENDPOINT, RAM_ENDPOINT, ACTIONTRAIL_ENDPOINT.

Exit codes: 0 everything is ✔ (or, with --dry-run, would be after the changes
shown); 1 something must be fixed by hand (✘) or a cloud call failed; 2 bad
usage or input.
`

// errNeedsFix is returned when a check failed: exit 1, after the checklist.
var errNeedsFix = errors.New("fix the ✘ items above by hand, then run setup again")

// setupConfig is what setup creates and checks.
type setupConfig struct {
	region                        string
	ledgerProject, ledgerLogstore string
	// summaryLogstore is the reaper's (s.yaml SUMMARY_LOGSTORE, in the
	// ledger's project); empty when no function names one.
	summaryLogstore             string
	trailProject, trailLogstore string
	triggerLogs                 [][2]string // the SLS triggers' own log logstores
	role, policyName            string
	ttlDays, shards             int
}

func (s setupConfig) trailName() string { return strings.TrimPrefix(s.trailLogstore, "actiontrail_") }

func runSetup(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlagSet("setup", "[--dry-run] [--config s.yaml] [--endpoints FILE] [flags]", env.stderr)
	var cf cloudFlags
	cf.register(fs)
	fs.Lookup("region").Usage = "region of the functions and their SLS projects (default: s.yaml's, i.e. PORTHYGIENE_REGION or cn-hangzhou)"
	fs.Lookup("ledger-project").Usage = "SLS project of the ledger (default: s.yaml's LEDGER_PROJECT)"
	fs.Lookup("ledger-logstore").Usage = "SLS logstore of the ledger (default: s.yaml's LEDGER_LOGSTORE)"
	config := fs.String("config", "s.yaml", "the Serverless Devs file `s deploy` deploys")
	dryRun := fs.Bool("dry-run", false, "print the plan and the checks; change nothing")
	trailProject := fs.String("trail-project", "", "SLS project ActionTrail delivers to (default: the SLS trigger's, i.e. ACTIONTRAIL_PROJECT)")
	trailLogstore := fs.String("trail-logstore", "", "its logstore actiontrail_<trail> (default: the SLS trigger's, i.e. ACTIONTRAIL_LOGSTORE)")
	role := fs.String("role", "", "the functions' RAM role (default: s.yaml's, i.e. PORTHYGIENE_ROLE or "+deploy.DefaultRole+")")
	policyName := fs.String("policy-name", "", "the role's custom policy (default POLICY_NAME, else <role>-policy, as scripts/create-ram-role.sh names it)")
	ttl := fs.Int("ttl-days", 3650, "retention of a ledger logstore setup creates, in days (3650: permanent); an existing one is left as it is")
	shards := fs.Int("shards", 2, "shards of a ledger logstore setup creates")
	withNotes(fs, env.stderr, setupNotes)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ttl < 1 || *ttl > 3650 {
		return usagef("--ttl-days %d: want 1 to 3650", *ttl)
	}
	if *shards < 1 || *shards > 64 {
		return usagef("--shards %d: want 1 to 64", *shards)
	}
	sc, err := setupFromSYAML(*config, env.getenv)
	if err != nil {
		return err
	}
	sc.region = cmp.Or(cf.region, sc.region)
	sc.ledgerProject = cmp.Or(cf.ledgerProject, sc.ledgerProject)
	sc.ledgerLogstore = cmp.Or(cf.ledgerLogstore, sc.ledgerLogstore)
	sc.trailProject = cmp.Or(*trailProject, sc.trailProject)
	sc.trailLogstore = cmp.Or(*trailLogstore, sc.trailLogstore)
	sc.role = strings.ToLower(cmp.Or(*role, sc.role))
	sc.policyName = cmp.Or(*policyName, env.getenv("POLICY_NAME"), deploy.PolicyName(sc.role))
	sc.ttlDays, sc.shards = *ttl, *shards
	if err := sc.validate(); err != nil {
		return err
	}
	cf.region, cf.ledgerProject, cf.ledgerLogstore = sc.region, sc.ledgerProject, sc.ledgerLogstore
	c, err := cf.open(env, true)
	if err != nil {
		return err
	}
	acct, err := accountapi.New(accountapi.Config{Region: sc.region, RAMEndpoint: c.ramEndpoint, TrailEndpoint: c.trailEndpoint, Credentials: c.creds})
	if err != nil {
		return usagef("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	s := &setup{cfg: sc, sls: c.sls, acct: acct, dryRun: *dryRun}
	s.run(ctx)
	s.print(env.stdout, *config)
	if s.failed() {
		return errNeedsFix
	}
	return nil
}

// setupFromSYAML renders s.yaml with the environment, as `s deploy` does,
// and returns the settings the functions get.
func setupFromSYAML(path string, getenv func(string) string) (setupConfig, error) {
	if _, err := os.Stat(path); err != nil {
		return setupConfig{}, usagef("--config: %v (run from the repository, or pass --config)", err)
	}
	proj, err := sconfig.Load(path, getenv)
	if err != nil {
		return setupConfig{}, usageError{err}
	}
	var sc setupConfig
	set := func(dst *string, v, what, fn string) error {
		switch {
		case v == "":
		case *dst == "":
			*dst = v
		case *dst != v:
			return usagef("%s: the functions disagree on %s (%q, and %q in %s)", path, what, *dst, v, fn)
		}
		return nil
	}
	for _, fn := range proj.Functions {
		role := fn.RoleName
		if fn.Resource == "replicator" {
			// Its own role (deploy/ram/porthygiene-replicator-role.policy.json),
			// which setup does not check yet (README "Known limits").
			role = ""
		}
		for _, e := range []error{
			set(&sc.region, fn.Region, "the region", fn.Resource),
			set(&sc.ledgerProject, fn.Env["LEDGER_PROJECT"], "LEDGER_PROJECT", fn.Resource),
			set(&sc.ledgerLogstore, fn.Env["LEDGER_LOGSTORE"], "LEDGER_LOGSTORE", fn.Resource),
			set(&sc.summaryLogstore, fn.Env["SUMMARY_LOGSTORE"], "SUMMARY_LOGSTORE", fn.Resource),
			set(&sc.role, role, "the role", fn.Resource),
		} {
			if e != nil {
				return setupConfig{}, e
			}
		}
		for _, t := range fn.Triggers {
			if t.Log == nil || !strings.HasPrefix(t.Log.Logstore, "actiontrail_") {
				continue
			}
			if err := errors.Join(set(&sc.trailProject, t.Log.Project, "the ActionTrail project", fn.Resource),
				set(&sc.trailLogstore, t.Log.Logstore, "the ActionTrail logstore", fn.Resource)); err != nil {
				return setupConfig{}, err
			}
			if t.Log.LogProject != "" && t.Log.LogLogstore != "" {
				l := [2]string{t.Log.LogProject, t.Log.LogLogstore}
				if !slices.Contains(sc.triggerLogs, l) {
					sc.triggerLogs = append(sc.triggerLogs, l)
				}
			}
		}
	}
	return sc, nil
}

var (
	slsProjectRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	slsLogstoreRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$`)
	regionIDRE    = regexp.MustCompile(`^[a-z]{2}-[a-z0-9-]+$`)
	// A trail name: 6 to 36 characters, a lower-case letter first.
	trailNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{5,35}$`)
)

// validate refuses (exit 2) what no account could accept.
func (s setupConfig) validate() error {
	var errs []error
	check := func(what, v string, re *regexp.Regexp, want string) {
		if !re.MatchString(v) {
			errs = append(errs, fmt.Errorf("%s %q: want %s", what, v, want))
		}
	}
	check("region", s.region, regionIDRE, "a region id such as cn-hangzhou")
	check("ledger project", s.ledgerProject, slsProjectRE, "an SLS project name (3-63 of a-z, 0-9, -)")
	check("ledger logstore", s.ledgerLogstore, slsLogstoreRE, "an SLS logstore name (3-63 of a-z, 0-9, _, -)")
	check("ActionTrail project", s.trailProject, slsProjectRE, "an SLS project name (3-63 of a-z, 0-9, -)")
	check("ActionTrail logstore", s.trailLogstore, slsLogstoreRE, "an SLS logstore name")
	if !strings.HasPrefix(s.trailLogstore, "actiontrail_") {
		errs = append(errs, fmt.Errorf("ActionTrail logstore %q: a trail delivers to actiontrail_<trail>", s.trailLogstore))
	} else {
		check("trail name", s.trailName(), trailNameRE, "6-36 characters, a lower-case letter first")
	}
	if s.ledgerProject == s.trailProject && s.ledgerLogstore == s.trailLogstore {
		errs = append(errs, errors.New("the ledger cannot be the ActionTrail logstore: nothing else may write there"))
	}
	if !deploy.ValidRole(s.role) {
		errs = append(errs, fmt.Errorf("role %q: lower-case letters, digits, '.' and '-' (fc3 lowercases the name)", s.role))
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// mark is the state of one checklist item.
type mark int

const (
	markOK      mark = iota // as it should be (and left alone)
	markDone                // created or updated now
	markPending             // --dry-run: would be created or updated
	markFail                // must be fixed by hand, or could not be checked
)

func (m mark) String() string {
	switch m {
	case markOK, markDone:
		return "✔"
	case markPending:
		return "○"
	}
	return "✘"
}

// item is one line of the checklist, with its notes and fix.
type item struct {
	mark   mark
	what   string
	status string
	notes  []string // "! …" lines
	fix    []string // commands or console paths, for ✘
}

type setup struct {
	cfg    setupConfig
	sls    *slsapi.Client
	acct   *accountapi.Client
	dryRun bool
	items  []item
	// accountID is read from the role's ARN (for ARNs in fixes and the policy).
	accountID string
}

func (s *setup) add(it item) { s.items = append(s.items, it) }

func (s *setup) failed() bool {
	return slices.ContainsFunc(s.items, func(it item) bool { return it.mark == markFail })
}

// change records something setup creates or updates, or would.
func (s *setup) change(what, did, would string, notes ...string) item {
	if s.dryRun {
		return item{mark: markPending, what: what, status: would, notes: notes}
	}
	return item{mark: markDone, what: what, status: did, notes: notes}
}

func cannotCheck(what string, err error, fix ...string) item {
	return item{mark: markFail, what: what, status: "cannot check: " + oneLine(err.Error()), fix: fix}
}

func (s *setup) run(ctx context.Context) {
	c := s.cfg
	// Read the role first: its ARN names the account the fixes and the
	// policy refer to.
	role, roleErr := s.acct.Role(ctx, c.role)
	if roleErr == nil {
		s.accountID = role.AccountID
	}
	ledgerOK := s.project(ctx, c.ledgerProject, "ledger project", "LEDGER_PROJECT")
	if ledgerOK {
		s.ledger(ctx)
		if c.summaryLogstore != "" {
			s.summaries(ctx)
		}
	}
	for _, l := range s.cfg.triggerLogs {
		s.logstore(ctx, l[0], l[1], "SLS trigger log logstore", 30, 1)
	}
	s.project(ctx, c.trailProject, "ActionTrail project", "ACTIONTRAIL_PROJECT")
	s.trail(ctx)
	s.role(ctx, role, roleErr)
}

// project creates an SLS project unless it exists; false when it is not
// there (nor will be, in a dry run) to hold logstores.
func (s *setup) project(ctx context.Context, name, label, envVar string) bool {
	what := fmt.Sprintf("%s %s (%s)", label, name, s.cfg.region)
	ok, err := s.sls.ProjectExists(ctx, name)
	switch {
	case err != nil:
		s.add(cannotCheck(what, err, "check that the credentials may call log:GetProject on "+name))
		return false
	case ok:
		s.add(item{mark: markOK, what: what, status: "exists"})
		return true
	case s.dryRun:
		s.add(s.change(what, "", "would create"))
		return true
	}
	if err := s.sls.EnsureProject(ctx, name, "porthygiene"); err != nil {
		s.add(item{mark: markFail, what: what, status: "cannot create: " + oneLine(err.Error()),
			fix: []string{"grant the credentials log:CreateProject, or create it in the SLS console (Projects → Create Project, region " + s.cfg.region + ")"}})
		return false
	}
	// CreateProject also answers "already exists" for a project of another
	// account: SLS project names are global.
	if ok, err := s.sls.ProjectExists(ctx, name); err != nil || !ok {
		s.add(item{mark: markFail, what: what, status: "the name is taken by another account (SLS project names are unique across Alibaba Cloud)",
			fix: []string{"choose another name: set " + envVar + " (and the same for `s deploy`)"}})
		return false
	}
	s.add(s.change(what, "created", ""))
	return true
}

// logstore creates a logstore unless it exists; it reports whether the
// logstore existed before.
func (s *setup) logstore(ctx context.Context, project, name, label string, ttl, shards int) (existed, ok bool) {
	what := fmt.Sprintf("%s %s/%s", label, project, name)
	there, err := s.sls.LogstoreExists(ctx, project, name)
	switch {
	case err != nil:
		s.add(cannotCheck(what, err, "check that the credentials may call log:GetLogStore on "+project+"/"+name))
		return false, false
	case there:
		s.add(item{mark: markOK, what: what, status: "exists"})
		return true, true
	case s.dryRun:
		s.add(s.change(what, "", fmt.Sprintf("would create (retention %s, %d shard(s))", retention(ttl), shards)))
		return false, true
	}
	if err := s.sls.EnsureLogstore(ctx, project, name, ttl, shards); err != nil {
		s.add(item{mark: markFail, what: what, status: "cannot create: " + oneLine(err.Error()),
			fix: []string{"grant the credentials log:CreateLogStore on " + project + ", or create it in the SLS console"}})
		return false, false
	}
	s.add(s.change(what, fmt.Sprintf("created (retention %s, %d shard(s))", retention(ttl), shards), ""))
	return false, true
}

func retention(days int) string {
	if days >= 3650 {
		return "permanent"
	}
	return fmt.Sprintf("%d days", days)
}

// ledger makes the ledger's logstore and its index.
func (s *setup) ledger(ctx context.Context) {
	c := s.cfg
	s.indexedLogstore(ctx, c.ledgerProject, c.ledgerLogstore, "ledger", c.ttlDays, ledger.IndexKeys)
}

// summaryRetention is the reaper summary logstore's retention: the longest
// look-back (90 days) and a month to spare.
const summaryRetention = 120

// summaries makes the reaper's daily flow-log summary logstore (beside the
// ledger, named in s.yaml's SUMMARY_LOGSTORE) and its index.
func (s *setup) summaries(ctx context.Context) {
	c := s.cfg
	s.indexedLogstore(ctx, c.ledgerProject, c.summaryLogstore, "reaper summary", summaryRetention, flowevidence.Keys)
}

// indexedLogstore makes a logstore and its index of keys.
func (s *setup) indexedLogstore(ctx context.Context, project, name, label string, ttl int, keys []string) {
	c := s.cfg
	existed, ok := s.logstore(ctx, project, name, label+" logstore", ttl, c.shards)
	if !ok {
		return
	}
	what := fmt.Sprintf("%s index %s/%s", label, project, name)
	fields := strings.Join(keys, ", ") + " (" + slsapi.FieldType + ")"
	if !existed { // created now, or would be: empty, so the index covers everything
		s.add(s.change(what, "created: "+fields, "would create: "+fields))
		if !s.dryRun {
			if err := s.indexNewLogstore(ctx, project, name, keys); err != nil {
				s.items[len(s.items)-1] = item{mark: markFail, what: what, status: "cannot create: " + oneLine(err.Error()),
					fix: []string{"grant the credentials log:CreateIndex and log:UpdateIndex on " + project + "/" + name}}
			}
		}
		return
	}
	st, err := s.sls.Index(ctx, project, name)
	if err != nil {
		s.add(cannotCheck(what, err, "check that the credentials may call log:GetIndex on "+project+"/"+name))
		return
	}
	ch := st.Plan(keys...)
	if ch.None() {
		s.add(item{mark: markOK, what: what, status: "covers " + fields})
		return
	}
	var it item
	if ch.Create {
		it = s.change(what, "created: "+fields, "would create: "+fields,
			"! an index covers only logs written after it exists: records already in "+project+"/"+name+" stay unsearchable",
			`  (PullLogs still reads them; to search them too, reindex the logstore: SLS docs "Reindex logs for a Logstore")`)
	} else {
		changed := append(slices.Clone(ch.Add), ch.Retype...)
		subject := "the field " + changed[0] + " covers"
		if len(changed) > 1 {
			subject = "the fields " + strings.Join(changed, ", ") + " cover"
		}
		it = s.change(what, "updated: "+ch.String(), "would update: "+ch.String(),
			"! "+subject+" only records written after the update: older records are not found by it",
			`  (to search them too, reindex the logstore: SLS docs "Reindex logs for a Logstore")`)
	}
	if !s.dryRun {
		if err := s.sls.EnsureIndex(ctx, project, name, keys...); err != nil {
			it = item{mark: markFail, what: what, status: "cannot " + map[bool]string{true: "create", false: "update"}[ch.Create] + ": " + oneLine(err.Error()),
				fix: []string{"grant the credentials log:CreateIndex and log:UpdateIndex on " + project + "/" + name}}
		}
	}
	s.add(it)
}

// indexNewLogstore indexes the ledger logstore setup has just created. SLS
// may take a moment to serve a new logstore: "not found" is retried for a
// few seconds.
func (s *setup) indexNewLogstore(ctx context.Context, project, name string, keys []string) error {
	for attempt := 1; ; attempt++ {
		err := s.sls.EnsureIndex(ctx, project, name, keys...)
		if err == nil || !errors.Is(err, slsapi.ErrNotFound) || attempt == 10 {
			return err
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %v)", err, ctx.Err())
		case <-t.C:
		}
	}
}

func (s *setup) account() string { return cmp.Or(s.accountID, "<ACCOUNT_ID>") }

func (s *setup) trailProjectARN() string {
	return "acs:log:" + s.cfg.region + ":" + s.account() + ":project/" + s.cfg.trailProject
}

// trail checks the trail and its logstore, which ActionTrail creates.
func (s *setup) trail(ctx context.Context) {
	c := s.cfg
	name := c.trailName()
	what := fmt.Sprintf("ActionTrail trail %s (%s)", name, c.region)
	create := []string{
		fmt.Sprintf("aliyun actiontrail CreateTrail --region %s --Name %s --SlsProjectArn %s --EventRW All", c.region, name, s.trailProjectARN()),
		fmt.Sprintf("aliyun actiontrail StartLogging --region %s --Name %s", c.region, name),
		fmt.Sprintf("(console: ActionTrail → Trails → Create Trail: name %s, deliver events to Simple Log Service, project %s)", name, c.trailProject),
	}
	repoint := []string{fmt.Sprintf("aliyun actiontrail UpdateTrail --region %s --Name %s --SlsProjectArn %s", c.region, name, s.trailProjectARN())}
	t, err := s.acct.Trail(ctx, name)
	trailOK := false
	switch {
	case errors.Is(err, accountapi.ErrNotFound):
		s.add(item{mark: markFail, what: what, status: "not found: nothing delivers ActionTrail events to the SLS trigger", fix: create})
	case errors.Is(err, accountapi.ErrForbidden):
		s.add(cannotCheck(what, err, "grant the credentials actiontrail:DescribeTrails and actiontrail:GetTrailStatus, or check in the ActionTrail console → Trails"))
	case err != nil:
		s.add(cannotCheck(what, err, "run setup again"))
	case t.SLSProject != c.trailProject || t.SLSRegion != c.region:
		got := "nothing in SLS"
		if t.SLSProject != "" {
			got = "project " + t.SLSProject + " in " + t.SLSRegion
		}
		s.add(item{mark: markFail, what: what, status: fmt.Sprintf("delivers to %s, but the SLS trigger reads %s in %s", got, c.trailProject, c.region),
			fix: append(repoint, "(or set ACTIONTRAIL_PROJECT to where it delivers, and deploy again)")})
	case !t.Logging:
		s.add(item{mark: markFail, what: what, status: "exists but is not logging (" + cmp.Or(t.Status, "stopped") + ")",
			fix: []string{fmt.Sprintf("aliyun actiontrail StartLogging --region %s --Name %s", c.region, name)}})
	default:
		trailOK = true
		s.add(item{mark: markOK, what: what, status: "logging, delivers to project " + t.SLSProject})
	}

	what = fmt.Sprintf("ActionTrail logstore %s/%s", c.trailProject, c.trailLogstore)
	there, err := s.sls.LogstoreExists(ctx, c.trailProject, c.trailLogstore)
	switch {
	case err != nil:
		s.add(cannotCheck(what, err, "check that the credentials may call log:GetLogStore on "+c.trailProject+"/"+c.trailLogstore))
	case there:
		s.add(item{mark: markOK, what: what, status: "exists"})
	case trailOK:
		s.add(item{mark: markFail, what: what, status: "missing, though the trail delivers to " + c.trailProject,
			fix: append(repoint, "(ActionTrail creates the logstore, with its index, when a trail is pointed at the project; setup does not: nothing else may write there)")})
	default:
		s.add(item{mark: markFail, what: what, status: "missing: ActionTrail creates it, with its index, for the trail (setup does not: nothing else may write there)",
			fix: []string{"see the trail above"}})
	}
}

// roleScript is the command that creates or updates the role and its policy.
func (s *setup) roleScript() string {
	c := s.cfg
	vars := []string{}
	if s.accountID != "" {
		vars = append(vars, "ACCOUNT_ID="+s.accountID)
	}
	vars = append(vars, "PORTHYGIENE_REGION="+c.region, "PORTHYGIENE_ROLE="+c.role)
	if c.policyName != deploy.PolicyName(c.role) {
		vars = append(vars, "POLICY_NAME="+c.policyName)
	}
	vars = append(vars, "LEDGER_PROJECT="+c.ledgerProject, "LEDGER_LOGSTORE="+c.ledgerLogstore,
		"ACTIONTRAIL_PROJECT="+c.trailProject, "ACTIONTRAIL_LOGSTORE="+c.trailLogstore)
	return strings.Join(vars, " ") + " " + deploy.RoleScript
}

// role checks the functions' role, its trust policy and its policy.
func (s *setup) role(ctx context.Context, role accountapi.Role, err error) {
	c := s.cfg
	what := "RAM role " + c.role
	fixForbidden := "grant the credentials ram:GetRole, ram:ListPoliciesForRole and ram:GetPolicy, or check in the RAM console → Roles → " + c.role
	pwhat := "RAM policy " + c.policyName + " of " + c.role
	switch {
	case errors.Is(err, accountapi.ErrNotFound):
		s.add(item{mark: markFail, what: what, status: "not found (fc3 does not create custom roles)", fix: []string{s.roleScript()}})
		s.add(item{mark: markFail, what: pwhat, status: "not checked: no role", fix: []string{"the command above creates and attaches it too"}})
		return
	case errors.Is(err, accountapi.ErrForbidden):
		s.add(cannotCheck(what, err, fixForbidden))
		return
	case err != nil:
		s.add(cannotCheck(what, err, "run setup again"))
		return
	}
	trusted, terr := deploy.Trusts(role.TrustPolicy, deploy.TrustedService)
	switch {
	case terr != nil || !trusted:
		s.add(item{mark: markFail, what: what, status: "exists, but its trust policy does not let " + deploy.TrustedService + " assume it",
			fix: []string{s.roleScript() + "   # sets the trust policy of " + deploy.TrustFile}})
	default:
		s.add(item{mark: markOK, what: what, status: "exists, assumable by " + deploy.TrustedService})
	}

	attached, err := s.acct.RolePolicies(ctx, c.role)
	if err != nil {
		s.add(cannotCheck(pwhat, err, fixForbidden))
		return
	}
	var others []string
	found := false
	for _, p := range attached {
		if p.Name == c.policyName && p.Type == "Custom" {
			found = true
			continue
		}
		others = append(others, p.Name+" ("+p.Type+")")
	}
	var notes []string
	if len(others) > 0 {
		notes = []string{"! also attached: " + strings.Join(others, ", ") + ": the functions need only " + c.policyName}
	}
	if !found {
		status := "not attached to the role"
		if _, err := s.acct.PolicyDocument(ctx, c.policyName, "Custom"); errors.Is(err, accountapi.ErrNotFound) {
			status = "not found"
		}
		s.add(item{mark: markFail, what: pwhat, status: status, notes: notes, fix: []string{s.roleScript()}})
		return
	}
	doc, err := s.acct.PolicyDocument(ctx, c.policyName, "Custom")
	if err != nil {
		s.add(cannotCheck(pwhat, err, fixForbidden))
		return
	}
	want, err := deploy.Vars{AccountID: s.accountID, Region: c.region, LedgerProject: c.ledgerProject, LedgerLogstore: c.ledgerLogstore,
		TrailProject: c.trailProject, TrailLogstore: c.trailLogstore}.Policy()
	if err != nil {
		s.add(cannotCheck(pwhat, err, "check the role's ARN (its account id) in the RAM console"))
		return
	}
	wantG, err := deploy.Grants(want)
	if err != nil {
		s.add(cannotCheck(pwhat, err))
		return
	}
	gotG, err := deploy.Grants(doc)
	if err != nil {
		s.add(item{mark: markFail, what: pwhat, status: "its document does not parse: " + oneLine(err.Error()), notes: notes, fix: []string{s.roleScript()}})
		return
	}
	missing, extra := deploy.Diff(wantG, gotG)
	if len(missing) == 0 && len(extra) == 0 {
		s.add(item{mark: markOK, what: pwhat, status: "attached, as " + deploy.PolicyFile + " renders for this account", notes: notes})
		return
	}
	status := "differs from " + deploy.PolicyFile
	for _, g := range missing {
		notes = append(notes, "- lacks "+g.String())
	}
	for _, g := range extra {
		notes = append(notes, "+ grants "+g.String()+" (more than the functions need)")
	}
	s.add(item{mark: markFail, what: pwhat, status: status, notes: notes,
		fix: []string{s.roleScript() + "   # sets a new default version"}})
}

// print writes the checklist.
func (s *setup) print(w io.Writer, config string) {
	c := s.cfg
	fmt.Fprintf(w, "porthygiene setup (%s, region %s)\n", config, c.region)
	fmt.Fprintf(w, "  ledger %s/%s, ActionTrail %s/%s, role %s\n", c.ledgerProject, c.ledgerLogstore, c.trailProject, c.trailLogstore, c.role)
	if s.dryRun {
		fmt.Fprintln(w, "  dry run: nothing is changed")
	}
	fmt.Fprintln(w)
	changes, fails := 0, 0
	for _, it := range s.items {
		fmt.Fprintf(w, "%s %s: %s\n", it.mark, it.what, it.status)
		for _, n := range it.notes {
			fmt.Fprintf(w, "    %s\n", n)
		}
		for _, f := range it.fix {
			fmt.Fprintf(w, "    fix: %s\n", f)
		}
		switch it.mark {
		case markDone, markPending:
			changes++
		case markFail:
			fails++
		}
	}
	fmt.Fprintln(w)
	switch {
	case s.dryRun && changes > 0:
		fmt.Fprintf(w, "%d change(s) to make (○): run setup without --dry-run.", changes)
	case s.dryRun:
		fmt.Fprint(w, "nothing to change.")
	case changes > 0:
		fmt.Fprintf(w, "%d change(s) made.", changes)
	default:
		fmt.Fprint(w, "nothing to change.")
	}
	switch {
	case fails > 0:
		fmt.Fprintf(w, " %d item(s) to fix by hand (✘).\n", fails)
	case s.dryRun && changes > 0:
		fmt.Fprintln(w)
	default:
		fmt.Fprintln(w, " Everything setup checks is in place: next, `s deploy` (see README \"First deploy\").")
	}
}
