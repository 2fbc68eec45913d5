// SPDX-License-Identifier: Apache-2.0
// Contracts of ledgerflow's seeded workload. Minimal, self-contained implementations of
// the standards the ETL must recognise (ERC-20, ERC-721, ERC-1155, WETH) and of the call
// shapes the traces table must capture (internal value calls, delegatecall, staticcall,
// CREATE/CREATE2 factories, create-and-selfdestruct, reverted sub-calls).
pragma solidity 0.8.28;

contract Token20 {
    string public name;
    string public symbol;
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory n, string memory s, uint256 supply) {
        name = n;
        symbol = s;
        _mint(msg.sender, supply);
    }

    function _mint(address to, uint256 v) internal {
        totalSupply += v;
        balanceOf[to] += v;
        emit Transfer(address(0), to, v);
    }

    function mint(address to, uint256 v) external {
        _mint(to, v);
    }

    function transfer(address to, uint256 v) external returns (bool) {
        _move(msg.sender, to, v);
        return true;
    }

    function approve(address spender, uint256 v) external returns (bool) {
        allowance[msg.sender][spender] = v;
        emit Approval(msg.sender, spender, v);
        return true;
    }

    function transferFrom(address from, address to, uint256 v) external returns (bool) {
        uint256 a = allowance[from][msg.sender];
        require(a >= v, "allowance");
        if (a != type(uint256).max) allowance[from][msg.sender] = a - v;
        _move(from, to, v);
        return true;
    }

    function _move(address from, address to, uint256 v) internal {
        require(balanceOf[from] >= v, "balance");
        unchecked {
            balanceOf[from] -= v;
        }
        balanceOf[to] += v;
        emit Transfer(from, to, v);
    }
}

contract Weth9 {
    string public name = "Wrapped Ether";
    string public symbol = "WETH";
    uint8 public decimals = 18;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed src, address indexed dst, uint256 wad);
    event Approval(address indexed src, address indexed guy, uint256 wad);
    event Deposit(address indexed dst, uint256 wad);
    event Withdrawal(address indexed src, uint256 wad);

    receive() external payable {
        deposit();
    }

    function deposit() public payable {
        balanceOf[msg.sender] += msg.value;
        emit Deposit(msg.sender, msg.value);
    }

    function withdraw(uint256 wad) external {
        require(balanceOf[msg.sender] >= wad, "balance");
        balanceOf[msg.sender] -= wad;
        (bool ok, ) = payable(msg.sender).call{value: wad}("");
        require(ok, "send");
        emit Withdrawal(msg.sender, wad);
    }

    function totalSupply() external view returns (uint256) {
        return address(this).balance;
    }

    function approve(address guy, uint256 wad) external returns (bool) {
        allowance[msg.sender][guy] = wad;
        emit Approval(msg.sender, guy, wad);
        return true;
    }

    function transfer(address dst, uint256 wad) external returns (bool) {
        return transferFrom(msg.sender, dst, wad);
    }

    function transferFrom(address src, address dst, uint256 wad) public returns (bool) {
        require(balanceOf[src] >= wad, "balance");
        if (src != msg.sender && allowance[src][msg.sender] != type(uint256).max) {
            require(allowance[src][msg.sender] >= wad, "allowance");
            allowance[src][msg.sender] -= wad;
        }
        balanceOf[src] -= wad;
        balanceOf[dst] += wad;
        emit Transfer(src, dst, wad);
        return true;
    }
}

contract Nft721 {
    string public name = "Ledger Kitties";
    string public symbol = "LKIT";
    mapping(uint256 => address) public ownerOf;
    mapping(address => uint256) public balanceOf;
    mapping(uint256 => address) public getApproved;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed owner, address indexed operator, bool approved);

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x80ac58cd || id == 0x01ffc9a7;
    }

    function mint(address to, uint256 id) external {
        require(ownerOf[id] == address(0), "exists");
        ownerOf[id] = to;
        balanceOf[to] += 1;
        emit Transfer(address(0), to, id);
    }

    function approve(address to, uint256 id) external {
        require(ownerOf[id] == msg.sender, "owner");
        getApproved[id] = to;
        emit Approval(msg.sender, to, id);
    }

    function setApprovalForAll(address operator, bool ok) external {
        isApprovedForAll[msg.sender][operator] = ok;
        emit ApprovalForAll(msg.sender, operator, ok);
    }

    function transferFrom(address from, address to, uint256 id) public {
        require(ownerOf[id] == from, "owner");
        require(msg.sender == from || getApproved[id] == msg.sender || isApprovedForAll[from][msg.sender], "auth");
        delete getApproved[id];
        balanceOf[from] -= 1;
        balanceOf[to] += 1;
        ownerOf[id] = to;
        emit Transfer(from, to, id);
    }

    function safeTransferFrom(address from, address to, uint256 id) external {
        transferFrom(from, to, id);
    }
}

contract Multi1155 {
    mapping(uint256 => mapping(address => uint256)) internal balances;
    mapping(address => mapping(address => bool)) public isApprovedForAll;

    event TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value);
    event TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values);
    event ApprovalForAll(address indexed account, address indexed operator, bool approved);

    function uri(uint256) external pure returns (string memory) {
        return "ipfs://ledgerflow/{id}.json";
    }

    function balanceOf(address account, uint256 id) external view returns (uint256) {
        return balances[id][account];
    }

    function balanceOfBatch(address[] calldata accounts, uint256[] calldata ids) external view returns (uint256[] memory out) {
        require(accounts.length == ids.length, "length");
        out = new uint256[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) out[i] = balances[ids[i]][accounts[i]];
    }

    function setApprovalForAll(address operator, bool ok) external {
        isApprovedForAll[msg.sender][operator] = ok;
        emit ApprovalForAll(msg.sender, operator, ok);
    }

    function mint(address to, uint256 id, uint256 v) external {
        balances[id][to] += v;
        emit TransferSingle(msg.sender, address(0), to, id, v);
    }

    function safeTransferFrom(address from, address to, uint256 id, uint256 v, bytes calldata) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "auth");
        require(balances[id][from] >= v, "balance");
        balances[id][from] -= v;
        balances[id][to] += v;
        emit TransferSingle(msg.sender, from, to, id, v);
    }

    function safeBatchTransferFrom(address from, address to, uint256[] calldata ids, uint256[] calldata vs, bytes calldata) external {
        require(from == msg.sender || isApprovedForAll[from][msg.sender], "auth");
        require(ids.length == vs.length, "length");
        for (uint256 i = 0; i < ids.length; i++) {
            require(balances[ids[i]][from] >= vs[i], "balance");
            balances[ids[i]][from] -= vs[i];
            balances[ids[i]][to] += vs[i];
        }
        emit TransferBatch(msg.sender, from, to, ids, vs);
    }
}

contract Child {
    address public owner;

    constructor() payable {
        owner = msg.sender;
    }

    receive() external payable {}

    function destroy(address payable to) external {
        selfdestruct(to);
    }
}

contract Factory {
    event Created(address child, bool viaCreate2);

    function create() external payable returns (address c) {
        c = address(new Child{value: msg.value}());
        emit Created(c, false);
    }

    function create2(bytes32 salt) external payable returns (address c) {
        c = address(new Child{salt: salt, value: msg.value}());
        emit Created(c, true);
    }

    // EIP-6780: a contract destroyed in the transaction that created it is really removed.
    function createAndDestroy(address payable to) external payable {
        Child c = new Child{value: msg.value}();
        c.destroy(to);
    }

    function deployToken(string calldata n, string calldata s, uint256 supply) external returns (address) {
        Token20 t = new Token20(n, s, supply);
        t.transfer(msg.sender, supply);
        return address(t);
    }
}

contract Lib {
    uint256 public x;

    function setX(uint256 v) external {
        x = v;
    }
}

contract Reverter {
    function boom() external pure {
        revert("boom");
    }
}

contract Router {
    uint256 public x; // slot 0, written by Lib.setX through delegatecall
    address public immutable lib;

    constructor(address l) {
        lib = l;
    }

    function fanout(address payable[] calldata to) external payable {
        uint256 share = msg.value / to.length;
        for (uint256 i = 0; i < to.length; i++) {
            (bool ok, ) = to[i].call{value: share}("");
            require(ok, "send");
        }
    }

    function viaDelegate(uint256 v) external {
        (bool ok, ) = lib.delegatecall(abi.encodeWithSignature("setX(uint256)", v));
        require(ok, "delegate");
    }

    function tryBoom(address r) external returns (bool) {
        try Reverter(r).boom() {
            return true;
        } catch {
            return false;
        }
    }

    function peekSupply(address token) external returns (uint256 s) {
        s = Token20(token).totalSupply();
        x = s;
    }
}
