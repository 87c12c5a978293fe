using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Pelint.Tests.Architecture;

/// <summary>One type of a compiled assembly using another type, and where the use was found.</summary>
/// <param name="User">The using type's full name (nested types as <c>Outer+Inner</c>).</param>
/// <param name="UserNamespace">The namespace of the using type (of its outermost declaring type).</param>
/// <param name="Used">The used type's full name.</param>
/// <param name="UsedNamespace">The namespace of the used type.</param>
/// <param name="Where">The member or construct the use was found in, for the failure message.</param>
public sealed record TypeUse(string User, string UserNamespace, string Used, string UsedNamespace, string Where);

/// <summary>
/// Every type a compiled assembly's types use, read from its metadata: base types, interfaces,
/// generic constraints, attributes, field, method, property and event signatures, local variables,
/// catch clauses, explicit interface implementations and every token in the IL of every method
/// body (calls, field accesses, <c>new</c>, casts, <c>typeof</c>, ...). This is what the compiler
/// emitted, so a use through <c>var</c>, a lambda, a fully qualified name or a global using is
/// seen the same as one through a using directive.
/// </summary>
public static class TypeUses
{
    private static readonly Dictionary<ushort, OperandType> OperandTypes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => unchecked((ushort)o.Value), o => o.OperandType);

    public static IReadOnlyList<TypeUse> Read(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        return Read(stream);
    }

    public static IReadOnlyList<TypeUse> Read(Stream assembly)
    {
        using var pe = new PEReader(assembly);
        var md = pe.GetMetadataReader();
        var uses = new List<TypeUse>();
        foreach (var handle in md.TypeDefinitions)
        {
            new Collector(pe, md, handle, uses).CollectAll();
        }

        return uses;
    }

    /// <summary>The names of the assemblies an assembly references.</summary>
    public static IReadOnlyList<string> AssemblyReferences(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        return [.. md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name))];
    }

    /// <summary>The types an assembly declares: full name and namespace (of the outermost type for nested ones).</summary>
    public static IReadOnlyList<(string Name, string Namespace)> DeclaredTypes(string assemblyPath)
    {
        using var pe = new PEReader(File.OpenRead(assemblyPath));
        var md = pe.GetMetadataReader();
        return [.. md.TypeDefinitions.Select(h => (Names.FullName(md, h), Names.Namespace(md, h)))];
    }

    private static class Names
    {
        public static string Namespace(MetadataReader md, TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            var outer = type.GetDeclaringType();
            return outer.IsNil ? md.GetString(type.Namespace) : Namespace(md, outer);
        }

        public static string FullName(MetadataReader md, TypeDefinitionHandle handle)
        {
            var type = md.GetTypeDefinition(handle);
            var outer = type.GetDeclaringType();
            var name = md.GetString(type.Name);
            if (!outer.IsNil)
            {
                return FullName(md, outer) + "+" + name;
            }

            var ns = md.GetString(type.Namespace);
            return ns.Length == 0 ? name : ns + "." + name;
        }

        public static (string Name, string Namespace) Reference(MetadataReader md, TypeReferenceHandle handle)
        {
            var type = md.GetTypeReference(handle);
            var name = md.GetString(type.Name);
            if (type.ResolutionScope.Kind == HandleKind.TypeReference)
            {
                var (outerName, outerNamespace) = Reference(md, (TypeReferenceHandle)type.ResolutionScope);
                return (outerName + "+" + name, outerNamespace);
            }

            var ns = md.GetString(type.Namespace);
            return (ns.Length == 0 ? name : ns + "." + name, ns);
        }
    }

    /// <summary>Collects the uses of one type definition.</summary>
    private sealed class Collector : ISignatureTypeProvider<bool, object?>
    {
        private readonly PEReader _pe;
        private readonly MetadataReader _md;
        private readonly TypeDefinitionHandle _user;
        private readonly string _userName;
        private readonly string _userNamespace;
        private readonly List<TypeUse> _uses;
        private string _where = "";

        public Collector(PEReader pe, MetadataReader md, TypeDefinitionHandle user, List<TypeUse> uses)
        {
            _pe = pe;
            _md = md;
            _user = user;
            _userName = Names.FullName(md, user);
            _userNamespace = Names.Namespace(md, user);
            _uses = uses;
        }

        public void CollectAll()
        {
            var type = _md.GetTypeDefinition(_user);
            _where = "base type";
            Use(type.BaseType);
            _where = "interfaces";
            foreach (var i in type.GetInterfaceImplementations())
            {
                Use(_md.GetInterfaceImplementation(i).Interface);
            }

            _where = "type attributes and generic constraints";
            Attributes(type.GetCustomAttributes());
            GenericParameters(type.GetGenericParameters());

            foreach (var f in type.GetFields())
            {
                var field = _md.GetFieldDefinition(f);
                _where = "field " + _md.GetString(field.Name);
                field.DecodeSignature(this, null);
                Attributes(field.GetCustomAttributes());
            }

            foreach (var p in type.GetProperties())
            {
                var property = _md.GetPropertyDefinition(p);
                _where = "property " + _md.GetString(property.Name);
                property.DecodeSignature(this, null);
                Attributes(property.GetCustomAttributes());
            }

            foreach (var e in type.GetEvents())
            {
                var ev = _md.GetEventDefinition(e);
                _where = "event " + _md.GetString(ev.Name);
                Use(ev.Type);
                Attributes(ev.GetCustomAttributes());
            }

            foreach (var m in type.GetMethods())
            {
                Method(m);
            }

            foreach (var i in type.GetMethodImplementations())
            {
                var impl = _md.GetMethodImplementation(i);
                _where = "explicit interface implementation";
                Use(impl.MethodDeclaration);
            }
        }

        private void Method(MethodDefinitionHandle handle)
        {
            var method = _md.GetMethodDefinition(handle);
            _where = "method " + _md.GetString(method.Name);
            method.DecodeSignature(this, null);
            Attributes(method.GetCustomAttributes());
            GenericParameters(method.GetGenericParameters());
            foreach (var p in method.GetParameters())
            {
                Attributes(_md.GetParameter(p).GetCustomAttributes());
            }

            if (method.RelativeVirtualAddress == 0)
            {
                return;
            }

            var body = _pe.GetMethodBody(method.RelativeVirtualAddress);
            if (!body.LocalSignature.IsNil)
            {
                _md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(this, null);
            }

            foreach (var region in body.ExceptionRegions)
            {
                Use(region.CatchType);
            }

            Instructions(body.GetILReader());
        }

        private void Instructions(BlobReader il)
        {
            while (il.RemainingBytes > 0)
            {
                int code = il.ReadByte();
                if (code == 0xFE)
                {
                    code = 0xFE00 | il.ReadByte();
                }

                if (!OperandTypes.TryGetValue((ushort)code, out var operand))
                {
                    throw new InvalidOperationException($"{_userName}, {_where}: unknown IL opcode 0x{code:X} at IL offset {il.Offset - 1}");
                }

                switch (operand)
                {
                    case OperandType.InlineNone:
                        break;
                    case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                        il.Offset += 1;
                        break;
                    case OperandType.InlineVar:
                        il.Offset += 2;
                        break;
                    case OperandType.InlineI or OperandType.InlineBrTarget or OperandType.ShortInlineR or OperandType.InlineString:
                        il.Offset += 4;
                        break;
                    case OperandType.InlineI8 or OperandType.InlineR:
                        il.Offset += 8;
                        break;
                    case OperandType.InlineSwitch:
                        var targets = il.ReadInt32();
                        il.Offset += 4 * targets;
                        break;
                    case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineSig or OperandType.InlineTok or OperandType.InlineType:
                        Use(MetadataTokens.EntityHandle(il.ReadInt32()));
                        break;
                    default:
                        throw new InvalidOperationException($"{_userName}, {_where}: operand type {operand}");
                }
            }
        }

        private void Attributes(CustomAttributeHandleCollection attributes)
        {
            foreach (var a in attributes)
            {
                Use(_md.GetCustomAttribute(a).Constructor);
            }
        }

        private void GenericParameters(GenericParameterHandleCollection parameters)
        {
            foreach (var p in parameters)
            {
                foreach (var c in _md.GetGenericParameter(p).GetConstraints())
                {
                    Use(_md.GetGenericParameterConstraint(c).Type);
                }
            }
        }

        private void Use(EntityHandle handle)
        {
            if (handle.IsNil)
            {
                return;
            }

            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    var definition = (TypeDefinitionHandle)handle;
                    Add(Names.FullName(_md, definition), Names.Namespace(_md, definition));
                    break;
                case HandleKind.TypeReference:
                    var (name, ns) = Names.Reference(_md, (TypeReferenceHandle)handle);
                    Add(name, ns);
                    break;
                case HandleKind.TypeSpecification:
                    _md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                    break;
                case HandleKind.MethodDefinition:
                    var method = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    Use(method.GetDeclaringType());
                    method.DecodeSignature(this, null);
                    break;
                case HandleKind.FieldDefinition:
                    var field = _md.GetFieldDefinition((FieldDefinitionHandle)handle);
                    Use(field.GetDeclaringType());
                    field.DecodeSignature(this, null);
                    break;
                case HandleKind.MemberReference:
                    var member = _md.GetMemberReference((MemberReferenceHandle)handle);
                    Use(member.Parent);
                    if (member.GetKind() == MemberReferenceKind.Method)
                    {
                        member.DecodeMethodSignature(this, null);
                    }
                    else
                    {
                        member.DecodeFieldSignature(this, null);
                    }

                    break;
                case HandleKind.MethodSpecification:
                    var specification = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    Use(specification.Method);
                    specification.DecodeSignature(this, null);
                    break;
                case HandleKind.StandaloneSignature:
                    var signature = _md.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                    if (signature.GetKind() == StandaloneSignatureKind.Method)
                    {
                        signature.DecodeMethodSignature(this, null);
                    }
                    else
                    {
                        signature.DecodeLocalSignature(this, null);
                    }

                    break;
                default:
                    // Module references (P/Invoke parents) and the like name no type.
                    break;
            }
        }

        private void Add(string used, string usedNamespace) =>
            _uses.Add(new TypeUse(_userName, _userNamespace, used, usedNamespace, _where));

        public bool GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind)
        {
            Use(handle);
            return true;
        }

        public bool GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind)
        {
            Use(handle);
            return true;
        }

        public bool GetTypeFromSpecification(MetadataReader reader, object? genericContext, TypeSpecificationHandle handle, byte rawTypeKind)
        {
            Use(handle);
            return true;
        }

        public bool GetArrayType(bool elementType, ArrayShape shape) => true;

        public bool GetByReferenceType(bool elementType) => true;

        public bool GetFunctionPointerType(MethodSignature<bool> signature) => true;

        public bool GetGenericInstantiation(bool genericType, ImmutableArray<bool> typeArguments) => true;

        public bool GetGenericMethodParameter(object? genericContext, int index) => true;

        public bool GetGenericTypeParameter(object? genericContext, int index) => true;

        public bool GetModifiedType(bool modifier, bool unmodifiedType, bool isRequired) => true;

        public bool GetPinnedType(bool elementType) => true;

        public bool GetPointerType(bool elementType) => true;

        public bool GetPrimitiveType(PrimitiveTypeCode typeCode) => true;

        public bool GetSZArrayType(bool elementType) => true;
    }
}
