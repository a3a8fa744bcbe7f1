package approve

import (
	"errors"

	"github.com/porthygiene/porthygiene/shared/notify"
)

// Environment variables read by ParseConfig (set in s.yaml).
const (
	EnvSigningKey     = "APPROVE_SIGNING_KEY"
	EnvLedgerProject  = "LEDGER_PROJECT"
	EnvLedgerLogstore = "LEDGER_LOGSTORE"
	EnvSLSEndpoint    = "SLS_ENDPOINT"
)

// Config is the approve function's configuration.
type Config struct {
	LedgerProject  string
	LedgerLogstore string
	SLSEndpoint    string        // default https://<region>-intranet.log.aliyuncs.com
	SigningKey     notify.Secret // empty or short: the function refuses every link (503)
}

// ParseConfig reads the environment through getenv; region is the function's
// own (FC_REGION), the default for the SLS endpoint. A missing signing key is
// not an error here: the Handler refuses every link and says so in the log.
// Errors name the variable, never a value.
func ParseConfig(getenv func(string) string, region string) (Config, error) {
	c := Config{
		LedgerProject:  getenv(EnvLedgerProject),
		LedgerLogstore: getenv(EnvLedgerLogstore),
		SLSEndpoint:    getenv(EnvSLSEndpoint),
		SigningKey:     notify.Secret(getenv(EnvSigningKey)),
	}
	if c.SLSEndpoint == "" && region != "" {
		c.SLSEndpoint = "https://" + region + "-intranet.log.aliyuncs.com"
	}
	return c, c.Validate()
}

// Validate checks that decisions can be recorded.
func (c Config) Validate() error {
	var errs []error
	if c.LedgerProject == "" || c.LedgerLogstore == "" {
		errs = append(errs, errors.New(EnvLedgerProject+" and "+EnvLedgerLogstore+" are required: decisions are recorded in the ledger"))
	}
	if c.SLSEndpoint == "" {
		errs = append(errs, errors.New(EnvSLSEndpoint+" is empty and the function's region is unknown"))
	}
	return errors.Join(errs...)
}
