package engine

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/porthygiene/porthygiene/shared/policy"
)

// Env is the function's configuration from its environment (set in s.yaml).
type Env struct {
	Policy         *policy.Policy
	PolicyPath     string // "" when the embedded default is used
	RoleName       string
	Regions        []string
	LedgerProject  string
	LedgerLogstore string
	SLSEndpoint    string
	ECSEndpoint    string
	// ECSQPS paces the ECS calls of one invocation (PORTHYGIENE_ECS_QPS,
	// default DefaultECSQPS): set it to this function's share of the
	// account's ECS rate limit, so that a sweep is never throttled. A
	// fanned-out sweep divides it among its slices (FanOut).
	ECSQPS float64
	// SweepSlice is the number of groups per sweep slice
	// (PORTHYGIENE_SWEEP_SLICE): 0 (empty) sizes slices from the function's
	// timeout, -1 ("off") never fans out.
	SweepSlice int
	// SweepConcurrency is how many slices at once a region's ECS budget is
	// divided over (PORTHYGIENE_SWEEP_CONCURRENCY, default
	// DefaultSweepConcurrency).
	SweepConcurrency int
	// FCEndpoint overrides the Function Compute API endpoint the sweep's
	// fan-out calls (FCAPI_ENDPOINT; FC reserves the FC_ prefix). Default
	// https://<account>.<region>.fc.aliyuncs.com.
	FCEndpoint string
	// FunctionName and AccountID are the function's own (FC_FUNCTION_NAME,
	// FC_ACCOUNT_ID, set by Function Compute); without a name the sweep does
	// not fan out.
	FunctionName, AccountID string
}

// ParseEnv reads the environment. region is the function's own region, the
// default for the sweep and for the SLS endpoint. A relative policy path is
// read next to the binary (the code package), then in the working directory.
func ParseEnv(getenv func(string) string, region, binDir string) (Env, error) {
	e := Env{
		RoleName:       getenv("PORTHYGIENE_ROLE_NAME"),
		LedgerProject:  getenv("LEDGER_PROJECT"),
		LedgerLogstore: getenv("LEDGER_LOGSTORE"),
		SLSEndpoint:    getenv("SLS_ENDPOINT"),
		ECSEndpoint:    getenv("ECS_ENDPOINT"),
		FCEndpoint:     getenv("FCAPI_ENDPOINT"),
		FunctionName:   getenv("FC_FUNCTION_NAME"),
		AccountID:      getenv("FC_ACCOUNT_ID"),
	}
	for _, r := range strings.Split(getenv("PORTHYGIENE_REGIONS"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			e.Regions = append(e.Regions, r)
		}
	}
	if len(e.Regions) == 0 && region != "" {
		e.Regions = []string{region}
	}
	if e.SLSEndpoint == "" && region != "" {
		e.SLSEndpoint = "https://" + region + "-intranet.log.aliyuncs.com"
	}
	var errs []error
	e.ECSQPS = DefaultECSQPS
	if v := getenv("PORTHYGIENE_ECS_QPS"); v != "" {
		q, err := strconv.ParseFloat(v, 64)
		if err != nil || q <= 0 || math.IsInf(q, 0) {
			errs = append(errs, fmt.Errorf("PORTHYGIENE_ECS_QPS %q: want a positive number of calls per second", v))
		}
		e.ECSQPS = q
	}
	switch v := strings.TrimSpace(getenv("PORTHYGIENE_SWEEP_SLICE")); v {
	case "":
	case "off":
		e.SweepSlice = -1
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > MaxSliceGroups {
			errs = append(errs, fmt.Errorf("PORTHYGIENE_SWEEP_SLICE %q: want groups per slice (1-%d), empty for automatic, or off", v, MaxSliceGroups))
		}
		e.SweepSlice = n
	}
	e.SweepConcurrency = DefaultSweepConcurrency
	if v := strings.TrimSpace(getenv("PORTHYGIENE_SWEEP_CONCURRENCY")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("PORTHYGIENE_SWEEP_CONCURRENCY %q: want a positive number of slices", v))
		}
		e.SweepConcurrency = n
	}
	if e.RoleName == "" {
		errs = append(errs, errors.New("PORTHYGIENE_ROLE_NAME is empty: the function could not recognise (and would react to) its own changes"))
	}
	if e.LedgerProject == "" || e.LedgerLogstore == "" {
		errs = append(errs, errors.New("LEDGER_PROJECT and LEDGER_LOGSTORE are required: nothing is revoked without a backup"))
	}
	if len(e.Regions) == 0 {
		errs = append(errs, errors.New("PORTHYGIENE_REGIONS is empty and the function's region is unknown"))
	}
	switch path := getenv("PORTHYGIENE_POLICY"); {
	case path == "":
		e.Policy = policy.Default()
	default:
		if !filepath.IsAbs(path) && binDir != "" {
			if _, err := os.Stat(filepath.Join(binDir, path)); err == nil {
				path = filepath.Join(binDir, path)
			}
		}
		p, err := policy.Load(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("PORTHYGIENE_POLICY: %w", err))
		}
		e.Policy, e.PolicyPath = p, path
	}
	return e, errors.Join(errs...)
}
