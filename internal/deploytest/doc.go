// Package deploytest checks the deployment offline, the way `s deploy` and the
// cloud would see it:
//
//   - syaml_test.go renders s.yaml with the Serverless Devs CLI
//     (`s preview -o json`, from node_modules, installed by `make deps`) and
//     validates every fc3 resource against the fc3 component's JSON schema
//     (../shared/fc3-schema.json, beside the checkout, never copied into the
//     repo) with scripts/validate-syaml.mjs, then checks what the schema does
//     not: runtime, handler, code directory, trigger configurations.
//   - ram_test.go runs the functions' end-to-end scenarios on localcloud,
//     collects every API action the function role called and compares them
//     with the role's policy in deploy/ram: no action missing, none unused.
//
// The package has only tests.
package deploytest
