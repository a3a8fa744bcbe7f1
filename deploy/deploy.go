// Package deploy carries the documents of deploy/ram into the operator CLI:
// the functions' RAM policy template and the role's trust policy, with the
// rendering scripts/create-ram-role.sh does, so that `porthygiene setup` can
// check an account's role against exactly what the script would create. It
// also compares RAM policy documents by what they grant.
package deploy

import (
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// PolicyFile and TrustFile are the documents' paths in the repository.
const (
	PolicyFile = "deploy/ram/porthygiene-fc-role.policy.json"
	TrustFile  = "deploy/ram/trust.json"
	// RoleScript creates or updates the role and its policy.
	RoleScript = "scripts/create-ram-role.sh"
)

//go:embed ram/porthygiene-fc-role.policy.json
var policyTemplate string

//go:embed ram/trust.json
var trust string

// Trust returns the role's trust policy: only Function Compute may assume it.
func Trust() string { return trust }

// TrustedService is the service principal the trust policy names.
const TrustedService = "fc.aliyuncs.com"

// DefaultRole is the functions' role when PORTHYGIENE_ROLE is not set (s.yaml).
const DefaultRole = "porthygiene-fc-role"

// PolicyName is the name scripts/create-ram-role.sh gives the role's custom
// policy unless POLICY_NAME says otherwise.
func PolicyName(role string) string { return role + "-policy" }

// Vars fill the policy template's placeholders, as the script's settings do.
type Vars struct {
	AccountID      string // ${ACCOUNT_ID}
	Region         string // ${REGION} (PORTHYGIENE_REGION)
	LedgerProject  string // ${LEDGER_PROJECT}
	LedgerLogstore string // ${LEDGER_LOGSTORE}
	TrailProject   string // ${ACTIONTRAIL_PROJECT}
	TrailLogstore  string // ${ACTIONTRAIL_LOGSTORE}
	// FlowLogProject and FlowLogLogstore are where the VPC flow logs the
	// reaper reads are delivered (${FLOWLOG_PROJECT}, ${FLOWLOG_LOGSTORE};
	// default vpc-flowlog and flowlog, as the script's).
	FlowLogProject, FlowLogLogstore string
}

// Defaults of the flow-log placeholders (scripts/create-ram-role.sh).
const (
	DefaultFlowLogProject  = "vpc-flowlog"
	DefaultFlowLogLogstore = "flowlog"
)

func (v Vars) withDefaults() Vars {
	if v.FlowLogProject == "" {
		v.FlowLogProject = DefaultFlowLogProject
	}
	if v.FlowLogLogstore == "" {
		v.FlowLogLogstore = DefaultFlowLogLogstore
	}
	return v
}

// ErrInvalid marks a value the script would refuse.
var ErrInvalid = errors.New("invalid deploy setting")

// The checks of scripts/create-ram-role.sh: the names end up in JSON and ARNs.
var (
	accountRE  = regexp.MustCompile(`^[0-9]{6,20}$`)
	regionRE   = regexp.MustCompile(`^[a-z]{2}-[a-z0-9-]+$`)
	projectRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	logstoreRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$`)
	roleRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,63}$`)
	leftoverRE = regexp.MustCompile(`\$\{[A-Z_]+\}`)
)

// Validate checks every value as the script does; the error names each bad
// one and wraps ErrInvalid.
func (v Vars) Validate() error {
	v = v.withDefaults()
	var errs []error
	for _, c := range []struct {
		name, value string
		re          *regexp.Regexp
		want        string
	}{
		{"ACCOUNT_ID", v.AccountID, accountRE, "digits"},
		{"PORTHYGIENE_REGION", v.Region, regionRE, "a region id such as cn-hangzhou"},
		{"LEDGER_PROJECT", v.LedgerProject, projectRE, "an SLS project name"},
		{"LEDGER_LOGSTORE", v.LedgerLogstore, logstoreRE, "an SLS logstore name"},
		{"ACTIONTRAIL_PROJECT", v.TrailProject, projectRE, "an SLS project name"},
		{"ACTIONTRAIL_LOGSTORE", v.TrailLogstore, logstoreRE, "an SLS logstore name"},
		{"FLOWLOG_PROJECT", v.FlowLogProject, projectRE, "an SLS project name"},
		{"FLOWLOG_LOGSTORE", v.FlowLogLogstore, logstoreRE, "an SLS logstore name"},
	} {
		if !c.re.MatchString(c.value) {
			errs = append(errs, fmt.Errorf("%s=%q is not a valid value (%s)", c.name, c.value, c.want))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// ValidRole reports whether name is a role name the script accepts (lower
// case, as fc3 lowercases it).
func ValidRole(name string) bool { return roleRE.MatchString(name) }

// Policy returns the rendered policy document, exactly as
// `scripts/create-ram-role.sh --print-policy` prints it (without the final
// newline).
func (v Vars) Policy() (string, error) {
	if err := v.Validate(); err != nil {
		return "", err
	}
	v = v.withDefaults()
	doc := strings.NewReplacer(
		"${ACCOUNT_ID}", v.AccountID,
		"${REGION}", v.Region,
		"${LEDGER_PROJECT}", v.LedgerProject,
		"${LEDGER_LOGSTORE}", v.LedgerLogstore,
		"${ACTIONTRAIL_PROJECT}", v.TrailProject,
		"${ACTIONTRAIL_LOGSTORE}", v.TrailLogstore,
		"${FLOWLOG_PROJECT}", v.FlowLogProject,
		"${FLOWLOG_LOGSTORE}", v.FlowLogLogstore,
	).Replace(strings.TrimRight(policyTemplate, "\n"))
	if p := leftoverRE.FindString(doc); p != "" {
		return "", fmt.Errorf("%s has a placeholder %s that Vars does not fill", PolicyFile, p)
	}
	return doc, nil
}
