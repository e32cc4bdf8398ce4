"""Indicators read from indexes: each person's first visit, needs carrying their visit's site and
day, covering indexes for a territory's period, orientations indexed by visit and redirection

At 1 M persons (BENCHMARKS.md) a territory's year of indicators took 10 s: "new persons" probed
the visits of each person welcomed (one index probe per person), the needs by domain joined every
need to its visit, and the other counts read the visits' and orientations' rows. The database now
keeps two derived values itself, with triggers, so that no code path can forget them:
``persons.first_visit_on`` (the date of the person's earliest visit) and ``needs.site_id`` /
``needs.occurred_on`` (copied from the need's visit). The counts then read covering indexes.

``demo generate`` loads rows with these values already computed and sets
``passerelle.bulk_load = on`` for its transactions, which the PostgreSQL triggers skip.

Revision ID: 0015_indicator_columns
Revises: 0014_audit_no_truncate
Create Date: 2026-12-01 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015_indicator_columns'
down_revision = '0014_audit_no_truncate'
branch_labels = None
depends_on = None

VISIT_INCLUDE = ['person_id', 'outcome', 'channel']
NEED_INCLUDE = ['domain', 'visit_id']
ORIENTATION_INCLUDE = ['status', 'acknowledged_on', 'acknowledge_due', 'taken_charge_on',
                       'domain', 'refusal_code', 'redirected_from_id']

PG_TRIGGERS = """
CREATE FUNCTION visits_derived() RETURNS trigger AS $$
BEGIN
    IF current_setting('passerelle.bulk_load', true) = 'on' THEN
        RETURN NULL;
    END IF;
    -- The person's row is locked first, by every branch: a visit recorded while another of
    -- the person's visits is deleted or moved (a merge) is then seen by the recomputation that
    -- follows, whichever transaction commits first (each statement reads a fresh snapshot).
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM persons WHERE id = NEW.person_id FOR UPDATE;
        UPDATE persons SET first_visit_on = NEW.occurred_on
         WHERE id = NEW.person_id AND (first_visit_on IS NULL OR first_visit_on > NEW.occurred_on);
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF NEW.site_id IS DISTINCT FROM OLD.site_id
           OR NEW.occurred_on IS DISTINCT FROM OLD.occurred_on THEN
            UPDATE needs SET site_id = NEW.site_id, occurred_on = NEW.occurred_on
             WHERE visit_id = NEW.id;
        END IF;
        IF NEW.person_id IS DISTINCT FROM OLD.person_id
           OR NEW.occurred_on IS DISTINCT FROM OLD.occurred_on THEN
            PERFORM 1 FROM persons WHERE id IN (NEW.person_id, OLD.person_id)
              ORDER BY id FOR UPDATE;
            UPDATE persons p SET first_visit_on =
                   (SELECT min(v.occurred_on) FROM visits v WHERE v.person_id = p.id)
             WHERE p.id IN (NEW.person_id, OLD.person_id);
        END IF;
        RETURN NULL;
    END IF;
    PERFORM 1 FROM persons WHERE id = OLD.person_id FOR UPDATE;
    UPDATE persons p SET first_visit_on =
           (SELECT min(v.occurred_on) FROM visits v WHERE v.person_id = p.id)
     WHERE p.id = OLD.person_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER visits_derived
    AFTER INSERT OR DELETE OR UPDATE OF person_id, site_id, occurred_on ON visits
    FOR EACH ROW EXECUTE FUNCTION visits_derived();

CREATE FUNCTION needs_from_visit() RETURNS trigger AS $$
BEGIN
    IF current_setting('passerelle.bulk_load', true) = 'on' THEN
        RETURN NEW;
    END IF;
    SELECT v.site_id, v.occurred_on INTO NEW.site_id, NEW.occurred_on
      FROM visits v WHERE v.id = NEW.visit_id;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER needs_from_visit
    BEFORE INSERT OR UPDATE OF visit_id, site_id, occurred_on ON needs
    FOR EACH ROW EXECUTE FUNCTION needs_from_visit();
"""

FIRST_VISIT = "(SELECT min(occurred_on) FROM visits WHERE visits.person_id = persons.id)"
SQLITE_TRIGGERS = [
    """CREATE TRIGGER visits_first_visit_insert AFTER INSERT ON visits BEGIN
        UPDATE persons SET first_visit_on = NEW.occurred_on
         WHERE id = NEW.person_id AND (first_visit_on IS NULL OR first_visit_on > NEW.occurred_on);
    END""",
    f"""CREATE TRIGGER visits_derived_update AFTER UPDATE OF person_id, site_id, occurred_on
        ON visits BEGIN
        UPDATE needs SET site_id = NEW.site_id, occurred_on = NEW.occurred_on
         WHERE visit_id = NEW.id;
        UPDATE persons SET first_visit_on = {FIRST_VISIT}
         WHERE id IN (NEW.person_id, OLD.person_id);
    END""",
    f"""CREATE TRIGGER visits_first_visit_delete AFTER DELETE ON visits BEGIN
        UPDATE persons SET first_visit_on = {FIRST_VISIT} WHERE id = OLD.person_id;
    END""",
    """CREATE TRIGGER needs_from_visit AFTER INSERT ON needs BEGIN
        UPDATE needs SET site_id = (SELECT site_id FROM visits WHERE id = NEW.visit_id),
                         occurred_on = (SELECT occurred_on FROM visits WHERE id = NEW.visit_id)
         WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER needs_from_visit_update AFTER UPDATE OF visit_id ON needs BEGIN
        UPDATE needs SET site_id = (SELECT site_id FROM visits WHERE id = NEW.visit_id),
                         occurred_on = (SELECT occurred_on FROM visits WHERE id = NEW.visit_id)
         WHERE id = NEW.id;
    END""",
]
SQLITE_TRIGGER_NAMES = ["visits_first_visit_insert", "visits_derived_update",
                        "visits_first_visit_delete", "needs_from_visit", "needs_from_visit_update"]


def _covering(postgresql: bool) -> None:
    """The period indexes, carrying on PostgreSQL what the indicators count."""
    op.create_index('ix_visits_site_occurred_on', 'visits', ['site_id', 'occurred_on'],
                    postgresql_include=VISIT_INCLUDE if postgresql else [])
    op.create_index('ix_orientations_territory_sent_on', 'orientations', ['territory', 'sent_on'],
                    postgresql_include=ORIENTATION_INCLUDE if postgresql else [])


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('persons') as batch_op:
        batch_op.add_column(sa.Column('first_visit_on', sa.Date(), nullable=True))
    with op.batch_alter_table('needs') as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('occurred_on', sa.Date(), nullable=True))
    op.execute("UPDATE persons SET first_visit_on = "
               "(SELECT min(occurred_on) FROM visits WHERE visits.person_id = persons.id)")
    if postgresql:
        op.execute("UPDATE needs SET site_id = v.site_id, occurred_on = v.occurred_on "
                   "FROM visits v WHERE v.id = needs.visit_id")
        op.execute(PG_TRIGGERS)
    else:
        op.execute("UPDATE needs SET site_id = (SELECT site_id FROM visits WHERE id = visit_id), "
                   "occurred_on = (SELECT occurred_on FROM visits WHERE id = visit_id)")
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    op.create_index('ix_persons_first_visit_on', 'persons', ['first_visit_on', 'id'])
    op.create_index('ix_persons_anonymous', 'persons', ['id'],
                    postgresql_where=sa.text('anonymous'), sqlite_where=sa.text('anonymous'))
    op.create_index('ix_needs_site_occurred_on', 'needs', ['site_id', 'occurred_on'],
                    postgresql_include=NEED_INCLUDE if postgresql else [])
    # A visit deleted (the bench's clean-up, a test) checked every orientation for a reference.
    op.create_index('ix_orientations_visit_id', 'orientations', ['visit_id'])
    for column in ('redirected_from_id', 'redirected_to_id'):  # mostly empty: partial
        op.create_index(f'ix_orientations_{column}', 'orientations', [column],
                        postgresql_where=sa.text(f'{column} IS NOT NULL'),
                        sqlite_where=sa.text(f'{column} IS NOT NULL'))
    if postgresql:
        op.drop_index('ix_visits_site_occurred_on', table_name='visits')
        op.drop_index('ix_orientations_territory_sent_on', table_name='orientations')
        _covering(True)


def downgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    if postgresql:
        op.drop_index('ix_visits_site_occurred_on', table_name='visits')
        op.drop_index('ix_orientations_territory_sent_on', table_name='orientations')
        _covering(False)
    op.drop_index('ix_orientations_redirected_to_id', table_name='orientations')
    op.drop_index('ix_orientations_redirected_from_id', table_name='orientations')
    op.drop_index('ix_orientations_visit_id', table_name='orientations')
    op.drop_index('ix_needs_site_occurred_on', table_name='needs')
    op.drop_index('ix_persons_anonymous', table_name='persons')
    op.drop_index('ix_persons_first_visit_on', table_name='persons')
    if postgresql:
        op.execute("DROP TRIGGER needs_from_visit ON needs")
        op.execute("DROP FUNCTION needs_from_visit()")
        op.execute("DROP TRIGGER visits_derived ON visits")
        op.execute("DROP FUNCTION visits_derived()")
    else:
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table('needs') as batch_op:
        batch_op.drop_column('occurred_on')
        batch_op.drop_column('site_id')
    with op.batch_alter_table('persons') as batch_op:
        batch_op.drop_column('first_visit_on')
