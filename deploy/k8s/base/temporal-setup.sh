#!/bin/sh
# Creates probatio's Temporal namespace and the search attributes of CONTRACT §5.
#
# Runs in the official temporalio/admin-tools image: as the Kubernetes Job probatio-temporal-setup and as
# the temporal-setup service of deploy/compose.yaml. Idempotent: "already exists" counts as done, so it is
# safe on every deploy. Other failures are retried, because the frontend may still be starting and a new
# namespace takes a few seconds to reach every frontend before search attributes can be added to it.
set -eu

: "${PROBATIO_TEMPORAL_ADDRESS:?PROBATIO_TEMPORAL_ADDRESS must name the Temporal frontend, host:port}"
NAMESPACE="${PROBATIO_TEMPORAL_NAMESPACE:-probatio}"
# The temporal CLI reads its server address from TEMPORAL_ADDRESS.
export TEMPORAL_ADDRESS="$PROBATIO_TEMPORAL_ADDRESS"
ATTEMPTS="${SETUP_ATTEMPTS:-60}"
DELAY="${SETUP_DELAY_SECONDS:-5}"

# ensure ARGS...: run `temporal ARGS...` until it succeeds or reports that the thing already exists.
ensure() {
    attempt=1
    while :; do
        if out=$(temporal "$@" 2>&1); then
            echo "done: temporal $*"
            return 0
        fi
        case "$out" in
            *"already exists"* | *"AlreadyExists"*)
                echo "already there: temporal $*"
                return 0
                ;;
        esac
        if [ "$attempt" -ge "$ATTEMPTS" ]; then
            echo "giving up after $attempt attempts: temporal $*" >&2
            echo "$out" >&2
            return 1
        fi
        echo "attempt $attempt failed, retrying in ${DELAY}s: temporal $*" >&2
        attempt=$((attempt + 1))
        sleep "$DELAY"
    done
}

ensure operator namespace create --namespace "$NAMESPACE"
ensure operator search-attribute create --namespace "$NAMESPACE" --name TransferStage --type Keyword
ensure operator search-attribute create --namespace "$NAMESPACE" --name IssuingState --type Keyword
ensure operator search-attribute create --namespace "$NAMESPACE" --name ExecutingState --type Keyword
ensure operator search-attribute create --namespace "$NAMESPACE" --name DecisionDue --type Datetime
echo "Temporal namespace $NAMESPACE is ready at $PROBATIO_TEMPORAL_ADDRESS"
