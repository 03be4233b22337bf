"""Check a packaged template offline: translate the SAM template with samtranslator (stricter
than linting SAM directly), then lint the CloudFormation result with cfn-lint.

    python -m deploy.check_template build/package-prod/sam.json [--region us-east-1]

Exit status 1 and one line per problem when there are errors (cfn-lint warnings are printed,
not fatal)."""
import argparse
import json
import sys


class _NoManagedPolicies:
    """samtranslator asks IAM for managed policy ARNs by name; we use none, and stay offline."""

    def load(self):
        return {}


def as_uploaded(sam: dict) -> dict:
    """The template as `aws cloudformation package` leaves it: local CodeUri paths become S3
    locations (samtranslator accepts nothing else)."""
    sam = json.loads(json.dumps(sam))
    for res in sam.get("Resources", {}).values():
        props = res.get("Properties", {})
        uri = props.get("CodeUri") or props.get("ContentUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            key = "CodeUri" if "CodeUri" in props else "ContentUri"
            props[key] = "s3://offline-check-bucket/" + uri.lstrip("./")
    return sam


def translate(sam: dict, region: str) -> dict:
    import os

    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.transform import transform

    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    try:
        return transform(as_uploaded(sam), {}, _NoManagedPolicies())
    except InvalidDocumentException as e:
        raise TemplateError([str(c) for c in e.causes]) from e


class TemplateError(Exception):
    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


def lint(cfn: dict, region: str):
    """(errors, warnings) from cfn-lint, each a list of strings."""
    from cfnlint.api import ManualArgs, lint as cfn_lint

    matches = cfn_lint(json.dumps(cfn), config=ManualArgs(regions=[region]))
    errors = [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches
              if m.rule.severity == "error"]
    warnings = [f"{m.rule.id} {m.message} ({'/'.join(str(p) for p in m.path)})" for m in matches
                if m.rule.severity != "error"]
    return errors, warnings


def check(sam: dict, region: str = "us-east-1"):
    """The translated template and cfn-lint's warnings; raises TemplateError on any error."""
    cfn = translate(sam, region)
    errors, warnings = lint(cfn, region)
    if errors:
        raise TemplateError(errors)
    return cfn, warnings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.check_template", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--output", help="also write the translated CloudFormation template here")
    args = parser.parse_args(argv)
    with open(args.template) as f:
        sam = json.load(f)
    try:
        cfn, warnings = check(sam, args.region)
    except TemplateError as e:
        for p in e.problems:
            print("ERROR", p)
        return 1
    for w in warnings:
        print("WARNING", w)
    if args.output:
        with open(args.output, "w") as f:
            json.dump(cfn, f, indent=2)
    print(f"{args.template}: translated and linted, no errors ({len(warnings)} warnings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
