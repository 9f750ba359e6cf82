using PerazziSync.Pos.Import;
using PerazziSync.Pos.Records;
using PerazziSync.Testing;

namespace PerazziSync.Pos.Tests;

static class Importers
{
    /// <summary>An importer of <paramref name="portal"/> with the default POS settings, reading times without an offset as UTC, in chunks of <paramref name="chunkSize"/>.</summary>
    public static PosImporter Importer(this PortalDataSource portal, int chunkSize) => new(
        portal.DataSource, new PosRecordParser(TimeZoneInfo.Utc, TimeProvider.System, new PosOptions().UpdatedAtMaxAhead),
        chunkSize, new PosOptions().BatchWriteTimeout);
}
