# Deployment targets (issue 7). The main Makefile includes this file with `-include deploy/deploy.mk`.
#   make deploy  [STAGE=prod] [ALARM_EMAIL=ops@example.com] [DELIVER_CONCURRENCY=n]
#                [TABLE_CAPACITY=on-demand|provisioned] [WRITE_CAPACITY=min-max] [READ_CAPACITY=min-max]
#                [CAPACITY_TARGET=percent]
#                               provision (alarms: deploy/alarms.py) + chalice deploy +
#                               event-source settings; idempotent
#   make package [STAGE=prod] [DELIVER_CONCURRENCY=n] [API_GATEWAY=http|rest]
#                               chalice package --merge-template, then the front door finished
#                               (deploy/template.py) -> build/package-$(STAGE)/
#   make check-template [STAGE=prod]   package, then samtranslator + cfn-lint (offline)
#   make destroy STAGE=name     chalice delete + remove what provisioning made (STAGE required)
#   DELIVER_CONCURRENCY: the deliver event source's maximum concurrency, 2 to 1000 (default: the
#   stage's INFRAI_DELIVER_CONCURRENCY in .chalice/config.json, else chalicelib/config.py's);
#   sizing: docs/deployment.md#sizing-the-deliver-function
#   API_GATEWAY: the packaged template's front door, http (default) or rest (default: the stage's
#   "api_gateway" in .chalice/config.json, else http); `make deploy` can only make a REST API
#   and refuses API_GATEWAY=http. docs/deployment.md#the-front-door-http-api-or-rest-api
#   DESTINATION_ARNS: the SQS queue, EventBridge bus and role ARNs subscriptions may deliver to
#   (comma separated; default: the stage's INFRAI_DESTINATION_ARNS in .chalice/config.json, where
#   `make deploy` records it): the functions' role is granted exactly these
#   (docs/deployment.md#destinations-in-your-aws-account)
#   TABLE_CAPACITY: the data table's capacity mode, on-demand (default) or provisioned, which
#   auto-scales the table and each index between WRITE_CAPACITY and READ_CAPACITY units
#   (min-max, default 25-40000) at CAPACITY_TARGET percent utilization (20 to 90, default 70);
#   default: the stage's INFRAI_TABLE_CAPACITY etc. in .chalice/config.json
#   (docs/deployment.md#table-capacity-on-demand-or-provisioned)
# Credentials and region: the usual AWS environment (AWS_PROFILE, AWS_REGION, ...).

VENV ?= .venv
STAGE ?= prod
ALARM_EMAIL ?=
DELIVER_CONCURRENCY ?= $(INFRAI_DELIVER_CONCURRENCY)
API_GATEWAY ?= $(INFRAI_API_GATEWAY)
DESTINATION_ARNS ?= $(INFRAI_DESTINATION_ARNS)
TABLE_CAPACITY ?= $(INFRAI_TABLE_CAPACITY)
WRITE_CAPACITY ?= $(INFRAI_WRITE_CAPACITY)
READ_CAPACITY ?= $(INFRAI_READ_CAPACITY)
CAPACITY_TARGET ?= $(INFRAI_CAPACITY_TARGET)
DEPLOY_PY := $(VENV)/bin/python
DEPLOY_CHALICE := $(VENV)/bin/chalice
DEPLOY_BUILD := build
DEPLOY_TOOLS := $(VENV)/.requirements-deploy.stamp
# Deploy settings, for every step that reads them (deploy/stage.py: DEPLOY_SETTINGS)
DEPLOY_SETTINGS := INFRAI_DELIVER_CONCURRENCY='$(DELIVER_CONCURRENCY)' INFRAI_API_GATEWAY='$(API_GATEWAY)' \
	INFRAI_DESTINATION_ARNS='$(DESTINATION_ARNS)' INFRAI_TABLE_CAPACITY='$(TABLE_CAPACITY)' \
	INFRAI_WRITE_CAPACITY='$(WRITE_CAPACITY)' INFRAI_READ_CAPACITY='$(READ_CAPACITY)' \
	INFRAI_CAPACITY_TARGET='$(CAPACITY_TARGET)'
DEPLOY_IN_STAGE := $(DEPLOY_SETTINGS) $(DEPLOY_PY) -m deploy.stage $(STAGE) --

.PHONY: deploy package check-template destroy

$(DEPLOY_TOOLS): $(STAMP) requirements-deploy.txt
	$(VENV)/bin/pip install -q -r requirements-deploy.txt -c constraints.txt
	touch $@

# $(STAMP) (the main Makefile's install stamp): each target works on a fresh clone by itself
deploy: $(STAMP)
	INFRAI_ALARM_EMAIL=$(ALARM_EMAIL) $(DEPLOY_SETTINGS) $(DEPLOY_PY) -m deploy.provision up --stage $(STAGE) --write-config
	$(DEPLOY_IN_STAGE) $(DEPLOY_CHALICE) deploy --stage $(STAGE)
	$(DEPLOY_SETTINGS) $(DEPLOY_PY) -m deploy.provision tune --stage $(STAGE)

package: $(STAMP)
	INFRAI_ALARM_EMAIL=$(ALARM_EMAIL) $(DEPLOY_SETTINGS) $(DEPLOY_PY) -m deploy.template --stage $(STAGE) -o $(DEPLOY_BUILD)/merge-$(STAGE).json
	rm -rf $(DEPLOY_BUILD)/package-$(STAGE)
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(DEPLOY_IN_STAGE) $(DEPLOY_CHALICE) package \
		--stage $(STAGE) --merge-template $(DEPLOY_BUILD)/merge-$(STAGE).json $(DEPLOY_BUILD)/package-$(STAGE)
	$(DEPLOY_SETTINGS) $(DEPLOY_PY) -m deploy.template --stage $(STAGE) --finish $(DEPLOY_BUILD)/package-$(STAGE)/sam.json

check-template: $(DEPLOY_TOOLS) package
	$(DEPLOY_PY) -m deploy.check_template $(DEPLOY_BUILD)/package-$(STAGE)/sam.json \
		--output $(DEPLOY_BUILD)/package-$(STAGE)/cloudformation.json

destroy: $(STAMP)
	@if [ "$(origin STAGE)" != "command line" ] && [ "$(origin STAGE)" != "environment" ]; then \
		echo "make destroy needs the stage spelt out: make destroy STAGE=<stage>"; exit 2; fi
	-$(DEPLOY_IN_STAGE) $(DEPLOY_CHALICE) delete --stage $(STAGE)
	$(DEPLOY_PY) -m deploy.provision down --stage $(STAGE)
