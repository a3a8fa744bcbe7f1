// Package sconfig reads the Serverless Devs 3 s.yaml that `s deploy` uses
// (component fc3) and returns what localcloud needs to run the same functions
// and triggers: names, code, handler, role, limits, environment, async config,
// initializer, pre-deploy build actions and timer/eventbridge/log/http triggers.
//
// Invariants:
//
//   - The file is rendered the way Serverless Devs renders it: YAML anchors,
//     aliases and merge keys; ${vars.a.b}; ${env('NAME', 'default')} and
//     ${env(NAME)}; ${config('AccountID')} (the localcloud account id,
//     WithAccountID); ${resources.<name>.props.<path>}; ${path('rel')} (an
//     absolute path against the s.yaml directory). A string that is exactly one
//     ${vars…} or ${resources…} reference takes the referenced value with its
//     type (a map, a number); anywhere else the value is spliced in as text.
//   - A reference that does not resolve is an error naming it and its line:
//     an unknown var or resource path, an environment variable that is unset or
//     empty with no default, a cyclic reference, an unknown config key.
//   - Only resources whose component is fc3 become Functions, in file order;
//     other resources are kept only as targets of ${resources…} references.
//   - Parse validates exactly what localcloud relies on and reports the first
//     problem as an *Error naming the file, line and field path (for example
//     resources.drift.props.triggers[ecs-sg-changes].triggerConfig.cronExpression).
//     Fields localcloud does not use are ignored, not checked.
//   - Numbers and booleans are accepted in the string form fc3 also accepts
//     ("3" or 3, "true" or true); environment values may be any scalar. The
//     exceptions are a log trigger's jobConfig.maxRetryTime and
//     jobConfig.triggerInterval: fc3 passes triggerConfig to the FC 3.0 API
//     unchanged and the API types them as integers, so a string there (even
//     "3", or an ${env()} value) is an error wrapping ErrNotInteger.
//   - Defaults are fc3's: timeout 3 s, memory 512 MB, eventbridge
//     triggerEnable true, log jobConfig triggerInterval 60 s and maxRetryTime 3.
//     Timer and log triggers must state enable (fc3's schema requires it and
//     FC documents no default). Async settings that are absent stay unset (nil / zero) so the caller
//     applies FC's defaults (DefaultAsyncRetryAttempts, DefaultAsyncMaxEventAge).
//   - Parsing has no side effects: it reads the environment only through the
//     getenv function passed in, and never runs pre-deploy actions.
package sconfig
