"""Jenkins CI: the upstream chart configured as code, agents that build images without
a Docker daemon, and one seed pipeline per app (source build -> image build and push
with an immutable tag -> deploy through Git or `pulumi up`).

Modules: `builders` (the daemonless builders and what they need), `pipelines` (the
seed jobs and their deploy stage), `pod_templates` (the build pod), `values` (the
chart's values), `groovy` (Groovy/JCasC text), `component` (the Jenkins component)."""

from .builders import BUILDERS, Builder
from .component import Jenkins

__all__ = ["BUILDERS", "Builder", "Jenkins"]
