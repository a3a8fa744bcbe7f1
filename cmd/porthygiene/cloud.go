package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/porthygiene/porthygiene/shared/ecsapi"
	"github.com/porthygiene/porthygiene/shared/ledger"
	"github.com/porthygiene/porthygiene/shared/slsapi"
)

// cloudFlags say which account to talk to: localcloud (--endpoints, the file
// `porthygiene local --endpoints-file` writes) or a real account (the standard
// Alibaba Cloud environment variables).
type cloudFlags struct {
	endpoints      string
	region         string
	ledgerProject  string
	ledgerLogstore string
	// endpointsJSON, when set, is used instead of reading --endpoints (the
	// demo hands over the endpoints of the localcloud it started).
	endpointsJSON []byte
}

func (f *cloudFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoints, "endpoints", "", "localcloud endpoints file (from `porthygiene local --endpoints-file`); default: a real account from ALIBABA_CLOUD_* variables")
	fs.StringVar(&f.region, "region", "", "region (default ALIBABA_CLOUD_REGION_ID, or localcloud's)")
	fs.StringVar(&f.ledgerProject, "ledger-project", "", "SLS project of the ledger (default LEDGER_PROJECT)")
	fs.StringVar(&f.ledgerLogstore, "ledger-logstore", "", "SLS logstore of the ledger (default LEDGER_LOGSTORE)")
}

// conn is an open account: the ECS adapter for one region and the ledger.
type conn struct {
	region string
	user   string // who the operator is, for the ledger
	ecs    *ecsapi.Client
	ledger *ledger.Ledger // nil when no ledger is configured
	// ledgerProject is the ledger's SLS project (the reaper's summaries are there too).
	ledgerProject string
	sls           *slsapi.Client
	// timeURL is localcloud's virtual clock (GET → {"now"}); "" for a real account.
	timeURL string
	// creds and the RAM and ActionTrail endpoints ("" for the public ones),
	// for setup's account checks.
	creds                      ecsapi.Credentials
	ramEndpoint, trailEndpoint string
}

// endpointsFile is the part of localcloud's endpoints JSON the CLI reads.
type endpointsFile struct {
	Addr            string `json:"addr"`
	Region          string `json:"region"`
	AccessKeyID     string `json:"accessKeyId"`
	AccessKeySecret string `json:"accessKeySecret"`
	UserName        string `json:"userName"`
	ECSEndpoint     string `json:"ecsEndpoint"`
	SLSEndpoint     string `json:"slsEndpoint"`
	RAMEndpoint     string `json:"ramEndpoint"`
	TrailEndpoint   string `json:"actiontrailEndpoint"`
	HTTPProxy       string `json:"httpProxy"`
	Ledger          struct {
		Project  string `json:"project"`
		Logstore string `json:"logstore"`
	} `json:"ledger"`
}

// open connects to the account; the ledger is required only when needLedger.
func (f *cloudFlags) open(env *cliEnv, needLedger bool) (*conn, error) {
	var (
		creds              ecsapi.Credentials
		ecsEndpoint, slsEP string
		ramEP, trailEP     string
		region, user       = f.region, ""
		timeURL            string
		project, logstore  = f.ledgerProject, f.ledgerLogstore
		httpClient         *http.Client
	)
	if f.endpoints != "" || f.endpointsJSON != nil {
		data := f.endpointsJSON
		if data == nil {
			var err error
			if data, err = os.ReadFile(f.endpoints); err != nil {
				return nil, usagef("--endpoints: %v", err)
			}
		}
		var ep endpointsFile
		if err := json.Unmarshal(data, &ep); err != nil {
			return nil, usagef("--endpoints %s: not a localcloud endpoints file: %v", f.endpoints, err)
		}
		creds = ecsapi.Credentials{AccessKeyID: ep.AccessKeyID, AccessKeySecret: ep.AccessKeySecret}
		ecsEndpoint, slsEP, user = ep.ECSEndpoint, ep.SLSEndpoint, ep.UserName
		if ep.Addr != "" {
			timeURL = "http://" + ep.Addr + "/_localcloud/clock"
		}
		ramEP, trailEP = ep.RAMEndpoint, ep.TrailEndpoint
		region = cmp.Or(region, ep.Region)
		project, logstore = cmp.Or(project, ep.Ledger.Project), cmp.Or(logstore, ep.Ledger.Logstore)
		proxy, err := url.Parse(ep.HTTPProxy)
		if err != nil || ep.HTTPProxy == "" {
			return nil, usagef("--endpoints %s: no httpProxy", f.endpoints)
		}
		httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}}
	} else {
		creds = ecsapi.Credentials{
			AccessKeyID:     env.getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"),
			AccessKeySecret: env.getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
			SecurityToken:   env.getenv("ALIBABA_CLOUD_SECURITY_TOKEN"),
		}
		if creds.AccessKeyID == "" || creds.AccessKeySecret == "" {
			return nil, usagef("no credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pass --endpoints for localcloud")
		}
		region = cmp.Or(region, env.getenv("ALIBABA_CLOUD_REGION_ID"))
		project, logstore = cmp.Or(project, env.getenv("LEDGER_PROJECT")), cmp.Or(logstore, env.getenv("LEDGER_LOGSTORE"))
		ecsEndpoint = env.getenv("ECS_ENDPOINT")
		ramEP, trailEP = env.getenv("RAM_ENDPOINT"), env.getenv("ACTIONTRAIL_ENDPOINT")
		slsEP = cmp.Or(env.getenv("SLS_ENDPOINT"), "https://"+region+".log.aliyuncs.com")
		user = cmp.Or(env.getenv("USER"), "operator")
	}
	var missing []error
	if region == "" {
		missing = append(missing, errors.New("no region: pass --region or set ALIBABA_CLOUD_REGION_ID"))
	}
	if needLedger && (project == "" || logstore == "") {
		missing = append(missing, errors.New("no ledger: pass --ledger-project and --ledger-logstore or set LEDGER_PROJECT and LEDGER_LOGSTORE"))
	}
	if err := errors.Join(missing...); err != nil {
		return nil, usageError{err}
	}
	ec, err := ecsapi.New(ecsapi.Config{Region: region, Endpoint: ecsEndpoint, Credentials: creds})
	if err != nil {
		return nil, usagef("ecs: %v", err)
	}
	sls := slsapi.New(slsapi.Config{
		Endpoint:    slsEP,
		HTTPClient:  httpClient,
		Credentials: func() slsapi.Credentials { return creds },
	})
	c := &conn{region: region, user: user, ecs: ec, sls: sls, creds: creds, ramEndpoint: ramEP, trailEndpoint: trailEP, timeURL: timeURL}
	if project != "" && logstore != "" {
		c.ledger, c.ledgerProject = ledger.New(sls, project, logstore), project
	}
	return c, nil
}

// printJSON writes v as indented JSON.
func printJSON(env *cliEnv, v any) error {
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}
