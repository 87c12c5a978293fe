using System.Reflection.PortableExecutable;
using Pelint.Pe;

namespace Pelint.Rules;

/// <summary>
/// PE5001: an x86 image either sets NO_SEH or carries a safe exception handler table (/SAFESEH).
/// Whether an image registers SEH handlers cannot be told from its bytes alone, so, as BinSkim's
/// EnableSafeSEH (BA2018) does, every x86 image with native code that sets neither fails: without
/// a table the loader accepts any address in the image as a handler.
/// </summary>
[Rule("PE5001")]
public sealed partial class SafeSeh : IRule
{
    // IMAGE_LOAD_CONFIG_DIRECTORY32 up to and including SEHandlerCount (offset 68, 4 bytes).
    private const uint SizeWithHandlerFields = 72;

    public Applicability GetApplicability(PeImage image) => SafeSehFacts.Applicability(image);

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        if (image.Has(DllCharacteristics.NoSeh))
        {
            yield break;
        }

        var config = image.LoadConfig;
        var table = image.SafeSeh;
        if (!config.IsPresent)
        {
            yield return Messages.NoLoadConfig(new FindingLocation(config.Directory.FileOffset, 8, Description: "load config data directory"),
                "no-load-config", context.FileName);
        }
        else if (!table.HasFields)
        {
            yield return Messages.ShortLoadConfig(new FindingLocation(config.FileOffset, 4, config.Directory.Rva, Description: "load configuration Size"),
                "short-load-config", context.FileName, config.Size, SizeWithHandlerFields);
        }
        else if (table.TableVa == 0 || table.DeclaredCount == 0)
        {
            yield return Messages.NoTable(SafeSehFacts.TableField(image), "no-table", context.FileName, table.TableVa, table.DeclaredCount);
        }
    }
}
