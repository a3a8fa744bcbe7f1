#!/usr/bin/env bash
# Creates or updates the functions' RAM role (default porthygiene-fc-role) and
# its least-privilege policy with the aliyun CLI. `s deploy` (component fc3)
# only references an existing role by name, it does not create custom roles,
# so run this once per account before the first deploy, and again whenever
# deploy/ram/porthygiene-fc-role.policy.json changes. Safe to re-run.
#
#   scripts/create-ram-role.sh [--dry-run | --print-policy]
#
#   --dry-run       print the commands (and the documents) instead of running them
#   --print-policy  print the rendered policy document and exit
#
# Settings come from the environment, with the same names and defaults as s.yaml:
#   ACCOUNT_ID            account id (default: asked with `aliyun sts GetCallerIdentity`)
#   PORTHYGIENE_REGION    region of the functions and their SLS projects (cn-hangzhou)
#   PORTHYGIENE_ROLE      role name (porthygiene-fc-role); lower case, as fc3 lowercases it
#   POLICY_NAME           custom policy name (<role>-policy)
#   POLICY_FILE           the policy document under deploy/ram (porthygiene-fc-role.policy.json);
#                         the replicator's own role: PORTHYGIENE_ROLE=porthygiene-replicator-role
#                         POLICY_FILE=porthygiene-replicator-role.policy.json
#   LEDGER_PROJECT        ledger SLS project (porthygiene-ledger)
#   LEDGER_LOGSTORE       ledger logstore (ledger)
#   ACTIONTRAIL_PROJECT   SLS project ActionTrail delivers to (porthygiene-actiontrail)
#   ACTIONTRAIL_LOGSTORE  its logstore (actiontrail_porthygiene)
#   FLOWLOG_PROJECT       SLS project the VPC flow logs go to (vpc-flowlog; the reaper reads it)
#   FLOWLOG_LOGSTORE      its logstore (flowlog)
#   ALIYUN_PROFILE        aliyun CLI profile (the CLI's current one when empty)
#   ALIYUN_CLI            the aliyun CLI command (aliyun)
#
# The identity running this needs ram:GetRole, ram:CreateRole, ram:UpdateRole,
# ram:GetPolicy, ram:CreatePolicy, ram:CreatePolicyVersion,
# ram:DeletePolicyVersion, ram:ListPoliciesForRole and ram:AttachPolicyToRole
# (see deploy/README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ram_dir="$here/../deploy/ram"

usage() {
	echo "usage: scripts/create-ram-role.sh [--dry-run | --print-policy]" >&2
	sed -n "/^#   --dry-run/,/^#   --print-policy/p" "${BASH_SOURCE[0]}" | sed "s/^# \{0,1\}//" >&2
	echo "(see the header of ${BASH_SOURCE[0]} for the settings)" >&2
	exit 2
}

mode=run
for arg in "$@"; do
	case "$arg" in
	--dry-run) mode=dry-run ;;
	--print-policy) mode=print-policy ;;
	-h | --help) usage ;;
	*)
		echo "create-ram-role: unknown argument: $arg" >&2
		usage
		;;
	esac
done

region="${PORTHYGIENE_REGION:-cn-hangzhou}"
role="${PORTHYGIENE_ROLE:-porthygiene-fc-role}"
policy_name="${POLICY_NAME:-${role}-policy}"
ledger_project="${LEDGER_PROJECT:-porthygiene-ledger}"
ledger_logstore="${LEDGER_LOGSTORE:-ledger}"
trail_project="${ACTIONTRAIL_PROJECT:-porthygiene-actiontrail}"
trail_logstore="${ACTIONTRAIL_LOGSTORE:-actiontrail_porthygiene}"
flowlog_project="${FLOWLOG_PROJECT:-vpc-flowlog}"
flowlog_logstore="${FLOWLOG_LOGSTORE:-flowlog}"
cli="${ALIYUN_CLI:-aliyun}"
profile_args=()
if [[ -n "${ALIYUN_PROFILE:-}" ]]; then
	profile_args=(--profile "$ALIYUN_PROFILE")
fi

die() {
	echo "create-ram-role: $*" >&2
	exit 1
}

# aliyun runs the CLI, or prints the command under --dry-run.
aliyun() {
	if [[ "$mode" == dry-run ]]; then
		local out="$cli" a
		for a in "${profile_args[@]}" "$@"; do
			case "$a" in
			"$trust_doc") out+=' "$TRUST"' ;;
			"$policy_doc") out+=' "$POLICY"' ;;
			*) out+=" $(printf '%q' "$a")" ;;
			esac
		done
		echo "$out"
		return 0
	fi
	"$cli" "${profile_args[@]}" "$@"
}

account="${ACCOUNT_ID:-}"
if [[ -z "$account" ]]; then
	if [[ "$mode" == run ]]; then
		command -v "$cli" >/dev/null 2>&1 || die "the aliyun CLI ($cli) is not installed; set ALIYUN_CLI or install it"
		account="$("$cli" "${profile_args[@]}" sts GetCallerIdentity | sed -n 's/.*"AccountId"[[:space:]]*:[[:space:]]*"\([0-9]*\)".*/\1/p' | head -n1)"
		[[ -n "$account" ]] || die "could not read the account id from 'aliyun sts GetCallerIdentity'; set ACCOUNT_ID"
	else
		account="<ACCOUNT_ID>"
		echo "# ACCOUNT_ID is not set: shown as <ACCOUNT_ID> (a real run asks 'aliyun sts GetCallerIdentity')" >&2
	fi
fi

# The names end up in JSON and ARNs: accept only what RAM and SLS accept.
check() { [[ "$2" =~ $3 ]] || die "$1=\"$2\" is not a valid value ($4)"; }
[[ "$account" == "<ACCOUNT_ID>" ]] || check ACCOUNT_ID "$account" '^[0-9]{6,20}$' "digits"
check PORTHYGIENE_REGION "$region" '^[a-z]{2}-[a-z0-9-]+$' "a region id such as cn-hangzhou"
check PORTHYGIENE_ROLE "$role" '^[a-z0-9][a-z0-9.-]{0,63}$' "lower-case letters, digits, . and -"
check POLICY_NAME "$policy_name" '^[A-Za-z0-9-]{1,128}$' "letters, digits and -"
check LEDGER_PROJECT "$ledger_project" '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' "an SLS project name"
check ACTIONTRAIL_PROJECT "$trail_project" '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' "an SLS project name"
check LEDGER_LOGSTORE "$ledger_logstore" '^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$' "an SLS logstore name"
check ACTIONTRAIL_LOGSTORE "$trail_logstore" '^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$' "an SLS logstore name"
check FLOWLOG_PROJECT "$flowlog_project" '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' "an SLS project name"
check FLOWLOG_LOGSTORE "$flowlog_logstore" '^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$' "an SLS logstore name"

# render replaces the ${NAME} placeholders of the policy template.
render() {
	local doc
	doc="$(cat "$1")"
	doc="${doc//'${ACCOUNT_ID}'/"$account"}"
	doc="${doc//'${REGION}'/"$region"}"
	doc="${doc//'${LEDGER_PROJECT}'/"$ledger_project"}"
	doc="${doc//'${LEDGER_LOGSTORE}'/"$ledger_logstore"}"
	doc="${doc//'${ACTIONTRAIL_PROJECT}'/"$trail_project"}"
	doc="${doc//'${ACTIONTRAIL_LOGSTORE}'/"$trail_logstore"}"
	doc="${doc//'${FLOWLOG_PROJECT}'/"$flowlog_project"}"
	doc="${doc//'${FLOWLOG_LOGSTORE}'/"$flowlog_logstore"}"
	if [[ "$doc" == *'${'* ]]; then
		die "$1 has a placeholder this script does not know"
	fi
	printf '%s\n' "$doc"
}

policy_doc="$(render "$ram_dir/${POLICY_FILE:-porthygiene-fc-role.policy.json}")"
trust_doc="$(cat "$ram_dir/trust.json")"

if [[ "$mode" == print-policy ]]; then
	printf '%s\n' "$policy_doc"
	exit 0
fi

if [[ "$mode" == dry-run ]]; then
	echo "# dry run: the commands for an account without the role; nothing is changed."
	echo "TRUST='$trust_doc'"
	echo "POLICY='$policy_doc'"
	echo "# role"
	aliyun ram CreateRole --RoleName "$role" --AssumeRolePolicyDocument "$trust_doc" \
		--Description "porthygiene functions (Function Compute); policy $policy_name"
	echo "#   (when the role exists instead:)"
	aliyun ram UpdateRole --RoleName "$role" --NewAssumeRolePolicyDocument "$trust_doc"
	echo "# policy"
	aliyun ram CreatePolicy --PolicyName "$policy_name" --PolicyDocument "$policy_doc" \
		--Description "porthygiene functions: least privilege, measured by internal/deploytest"
	echo "#   (when the policy exists instead:)"
	aliyun ram CreatePolicyVersion --PolicyName "$policy_name" --PolicyDocument "$policy_doc" \
		--SetAsDefault true --RotateStrategy DeleteOldestNonDefaultVersionWhenLimitExceeded
	echo "# attachment (skipped when ListPoliciesForRole already lists it)"
	aliyun ram AttachPolicyToRole --PolicyType Custom --PolicyName "$policy_name" --RoleName "$role"
	exit 0
fi

command -v "$cli" >/dev/null 2>&1 || die "the aliyun CLI ($cli) is not installed; set ALIYUN_CLI or install it"

# exists runs a Get call: 0 if the entity exists, 1 if RAM says EntityNotExist,
# and stops on any other error.
exists() {
	local out
	if out="$(aliyun "$@" 2>&1)"; then
		return 0
	fi
	if [[ "$out" == *EntityNotExist* ]]; then
		return 1
	fi
	echo "$out" >&2
	die "aliyun $* failed"
}

if exists ram GetRole --RoleName "$role"; then
	echo "role $role exists: updating its trust policy"
	aliyun ram UpdateRole --RoleName "$role" --NewAssumeRolePolicyDocument "$trust_doc" >/dev/null
else
	echo "creating role $role"
	aliyun ram CreateRole --RoleName "$role" --AssumeRolePolicyDocument "$trust_doc" \
		--Description "porthygiene functions (Function Compute); policy $policy_name" >/dev/null
fi

if exists ram GetPolicy --PolicyType Custom --PolicyName "$policy_name"; then
	echo "policy $policy_name exists: setting a new default version"
	aliyun ram CreatePolicyVersion --PolicyName "$policy_name" --PolicyDocument "$policy_doc" \
		--SetAsDefault true --RotateStrategy DeleteOldestNonDefaultVersionWhenLimitExceeded >/dev/null
else
	echo "creating policy $policy_name"
	aliyun ram CreatePolicy --PolicyName "$policy_name" --PolicyDocument "$policy_doc" \
		--Description "porthygiene functions: least privilege, measured by internal/deploytest" >/dev/null
fi

# Read the list whole before matching: with pipefail, `grep -q` quitting
# early could kill the writer with SIGPIPE and turn a match into a miss.
attached=$(aliyun ram ListPoliciesForRole --RoleName "$role")
if grep -Eq "\"PolicyName\"[[:space:]]*:[[:space:]]*\"$policy_name\"" <<<"$attached"; then
	echo "policy $policy_name is attached to $role"
else
	echo "attaching policy $policy_name to $role"
	aliyun ram AttachPolicyToRole --PolicyType Custom --PolicyName "$policy_name" --RoleName "$role" >/dev/null
fi
echo "done: s.yaml's role is $role (set PORTHYGIENE_ROLE for \`s deploy\` if you changed it)"
