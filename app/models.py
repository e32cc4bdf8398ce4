"""Every model module, imported once so that the metadata is complete (migrations, tests)."""

from app.accueil import models as accueil_models  # noqa: F401
from app.appointments import models as appointments_models  # noqa: F401
from app.auth import models as auth_models  # noqa: F401
from app.charter import models as charter_models  # noqa: F401
from app.core import audit, ratelimit  # noqa: F401
from app.directory import models as directory_models  # noqa: F401
from app.documents import models as documents_models  # noqa: F401
from app.followup import models as followup_models  # noqa: F401
from app.notifications import models as notification_models  # noqa: F401
from app.orientation import models as orientation_models  # noqa: F401
from app.pilotage import models as pilotage_models  # noqa: F401
from app.referents import models as referents_models  # noqa: F401
