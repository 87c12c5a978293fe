using System.Reflection.PortableExecutable;
using Pelint.Pe;
using Pelint.Pe.Headers;
using Pelint.Pe.IO;
using Pelint.Pe.Relocations;

namespace Pelint.Rules;

/// <summary>PE1003: every base relocation block is well-formed.</summary>
[Rule("PE1003")]
public sealed partial class RelocationBlocks : IRule
{
    public Applicability GetApplicability(PeImage image) =>
        image.BaseRelocations.IsPresent ? Applicability.Applicable : Applicability.NotApplicable("no base relocation directory");

    public IEnumerable<Finding> Analyze(RuleContext context)
    {
        var image = context.Image;
        var table = image.BaseRelocations;
        foreach (var problem in table.Problems)
        {
            yield return Messages.Framing(new FindingLocation(problem.FileOffset, problem.Length, problem.Rva, Description: "base relocation directory"),
                $"framing:{problem.Id}", context.FileName, problem.Message);
        }

        var machine = MachineNames.Of(image.Machine);
        var problems = new BlockProblems();
        using var reader = image.OpenReader();
        foreach (var block in table.Blocks)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            problems.Check(image, block, reader);
            if (problems.Count == 0)
            {
                continue;
            }

            if (context.IsPastCap)
            {
                // A directory of millions of bad blocks: count them without naming or formatting anything.
                for (var i = 0; i < problems.Count; i++)
                {
                    yield return Finding.PastCap;
                }

                continue;
            }

            foreach (var finding in Describe(context, block, problems, machine))
            {
                yield return finding;
            }
        }
    }

    private static IEnumerable<Finding> Describe(RuleContext context, BaseRelocationBlock block, BlockProblems problems, string machine)
    {
        var image = context.Image;
        var where = new FindingLocation(block.FileOffset, BaseRelocationBlock.HeaderSize, block.PageRva, Description: $"relocation block {block.Index}");
        var key = BlockKey(image, block);
        var name = context.FileName;
        if (problems.SizeTooSmall)
        {
            yield return Messages.SizeTooSmall(where, $"{key}:size", name, block.Index, block.PageRva, block.SizeOfBlock);
        }

        if (problems.SizeOdd)
        {
            yield return Messages.SizeOdd(where, $"{key}:odd", name, block.Index, block.PageRva, block.SizeOfBlock);
        }

        if (problems.PageUnaligned)
        {
            yield return Messages.PageUnaligned(where, $"{key}:unaligned", name, block.Index, block.PageRva);
        }

        if (problems.PageOutside)
        {
            yield return Messages.PageOutside(where, $"{key}:outside", name, block.Index, block.PageRva, image.Map.SizeOfImage);
        }

        for (var type = 0; type < 16; type++)
        {
            if (problems.BadTypeCount[type] > 0)
            {
                yield return Messages.BadType(where, $"{key}:type{type}", name, block.Index, block.PageRva,
                    problems.BadTypeCount[type], type, machine, (uint)problems.FirstBadOffset[type]);
            }
        }

        if (problems.Outside > 0)
        {
            yield return Messages.TargetOutside(where, $"{key}:target", name, block.Index, block.PageRva, problems.Outside, problems.FirstOutside);
        }
    }

    /// <summary>Base relocation types each machine's loader applies (PE/COFF spec, "Base Relocation Types").</summary>
    public static bool IsLegal(Machine machine, BaseRelocationType type) => machine switch
    {
        Machine.Amd64 => type is BaseRelocationType.Absolute or BaseRelocationType.Dir64,
        Machine.I386 => type is BaseRelocationType.Absolute or BaseRelocationType.High or BaseRelocationType.Low
            or BaseRelocationType.HighLow or BaseRelocationType.HighAdj,
        Machine.Arm64 => type is BaseRelocationType.Absolute or BaseRelocationType.HighLow or BaseRelocationType.Dir64,
        Machine.Arm or Machine.ArmThumb2 or Machine.Thumb => type is BaseRelocationType.Absolute or BaseRelocationType.HighLow
            or BaseRelocationType.MachineSpecific5 or BaseRelocationType.MachineSpecific7,
        _ => (int)type <= (int)BaseRelocationType.Dir64 && type != BaseRelocationType.Reserved6,
    };

    private static int FixupWidth(BaseRelocationType type) => type switch
    {
        BaseRelocationType.Absolute => 0,
        BaseRelocationType.Dir64 => 8,
        BaseRelocationType.High or BaseRelocationType.Low or BaseRelocationType.HighAdj => 2,
        _ => 4,
    };

    // Blocks are keyed by the section their page falls in and their index within it, which
    // survives a rebuild that moves sections; a bare page RVA would not.
    private static string BlockKey(PeImage image, BaseRelocationBlock block)
    {
        var section = image.Map.FindSection(block.PageRva);
        return section is null ? $"block:{block.Index}" : $"block:{section.Name}:{(block.PageRva - section.VirtualAddress) >> 12}";
    }

    /// <summary>
    /// What is wrong with one block, as flags and counts only: deciding costs no string, so a rule
    /// past its cap pays for the checks and nothing else. One instance is reused for every block.
    /// </summary>
    private sealed class BlockProblems
    {
        public bool SizeTooSmall { get; private set; }

        public bool SizeOdd { get; private set; }

        public bool PageUnaligned { get; private set; }

        public bool PageOutside { get; private set; }

        /// <summary>Entries of each illegal type, and the page offset of the first.</summary>
        public int[] BadTypeCount { get; } = new int[16];

        public int[] FirstBadOffset { get; } = new int[16];

        /// <summary>Fixups whose target lies outside every section, and the first target.</summary>
        public int Outside { get; private set; }

        public uint FirstOutside { get; private set; }

        /// <summary>The number of findings the block makes.</summary>
        public int Count { get; private set; }

        public void Check(PeImage image, BaseRelocationBlock block, ImageReader reader)
        {
            SizeTooSmall = SizeOdd = PageUnaligned = PageOutside = false;
            Array.Clear(BadTypeCount);
            Outside = 0;
            FirstOutside = 0;
            Count = 0;
            if (block.SizeOfBlock < BaseRelocationBlock.HeaderSize)
            {
                SizeTooSmall = true;
                Count = 1;
                return;
            }

            SizeOdd = (block.SizeOfBlock & 1) != 0;
            PageOutside = block.PageRva >= image.Map.SizeOfImage;
            var applied = PageOutside ? block.EntryCount : CheckEntries(image, block, reader);

            // A block of ABSOLUTE entries only patches nothing: objcopy-made EFI images pad .reloc
            // with such blocks at unaligned pages, and the loader skips them.
            PageUnaligned = (block.PageRva & 0xFFF) != 0 && applied > 0;
            Count += (SizeOdd ? 1 : 0) + (PageUnaligned ? 1 : 0) + (PageOutside ? 1 : 0);
        }

        /// <summary>Checks each entry's type and target; returns how many entries are not ABSOLUTE padding.</summary>
        private int CheckEntries(PeImage image, BaseRelocationBlock block, ImageReader reader)
        {
            var applied = 0;
            var entries = BaseRelocationTable.ReadEntries(reader, block);
            for (var i = 0; i < entries.Length / 2; i++)
            {
                var entry = BaseRelocationTable.EntryAt(entries, i);
                var type = (int)entry.Type;
                if (entry.Type != BaseRelocationType.Absolute)
                {
                    applied++;
                }

                if (!IsLegal(image.Machine, entry.Type))
                {
                    if (BadTypeCount[type]++ == 0)
                    {
                        FirstBadOffset[type] = entry.Offset;
                        Count++;
                    }

                    continue;
                }

                var width = FixupWidth(entry.Type);
                if (width == 0)
                {
                    continue;
                }

                var target = (ulong)block.PageRva + (uint)entry.Offset;
                var section = target <= uint.MaxValue ? image.Map.FindSection((uint)target) : null;
                if (section is null || target + (uint)width > (ulong)section.VirtualAddress + section.MappedSize)
                {
                    if (Outside++ == 0)
                    {
                        FirstOutside = (uint)Math.Min(target, uint.MaxValue);
                        Count++;
                    }
                }
            }

            return applied;
        }
    }
}
