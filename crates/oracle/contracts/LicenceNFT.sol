// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// Licence keys as NFTs: an ERC-721 whose tokens each carry a licence id (one licence id
/// per licensed model or model family). `hasLicence(account, id)` is what the oracle
/// checks at request time (and the worker at the request's block): the account holds at
/// least one token of that licence.
contract LicenceNFT {
    string public constant name = "ledgerflow model licence";
    string public constant symbol = "LFL";
    address public owner;
    uint256 public totalSupply;

    mapping(uint256 => address) private owners;
    mapping(address => uint256) private balances;
    mapping(uint256 => address) private approvals;
    mapping(address => mapping(address => bool)) private operators;
    /// Token id → licence id.
    mapping(uint256 => uint256) public licenceOf;
    /// Account → licence id → tokens of that licence held.
    mapping(address => mapping(uint256 => uint256)) public licenceBalance;

    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event Approval(address indexed holder, address indexed approved, uint256 indexed tokenId);
    event ApprovalForAll(address indexed holder, address indexed operator, bool approved);
    event LicenceMinted(uint256 indexed tokenId, uint256 indexed licenceId, address indexed to);

    constructor() {
        owner = msg.sender;
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x01ffc9a7 || id == 0x80ac58cd || id == 0x5b5e139f;
    }

    function balanceOf(address a) external view returns (uint256) {
        require(a != address(0), "LicenceNFT: zero address");
        return balances[a];
    }

    function ownerOf(uint256 tokenId) public view returns (address) {
        address o = owners[tokenId];
        require(o != address(0), "LicenceNFT: no such token");
        return o;
    }

    function tokenURI(uint256 tokenId) external view returns (string memory) {
        ownerOf(tokenId);
        return "";
    }

    function hasLicence(address account, uint256 licenceId) external view returns (bool) {
        return licenceBalance[account][licenceId] > 0;
    }

    /// Mints a token of licence `licenceId` to `to` (the owner only).
    function mint(address to, uint256 licenceId) external returns (uint256 tokenId) {
        require(msg.sender == owner, "LicenceNFT: not the owner");
        require(to != address(0), "LicenceNFT: zero address");
        tokenId = ++totalSupply;
        owners[tokenId] = to;
        balances[to] += 1;
        licenceOf[tokenId] = licenceId;
        licenceBalance[to][licenceId] += 1;
        emit Transfer(address(0), to, tokenId);
        emit LicenceMinted(tokenId, licenceId, to);
    }

    function approve(address to, uint256 tokenId) external {
        address o = ownerOf(tokenId);
        require(msg.sender == o || operators[o][msg.sender], "LicenceNFT: not allowed");
        approvals[tokenId] = to;
        emit Approval(o, to, tokenId);
    }

    function getApproved(uint256 tokenId) external view returns (address) {
        ownerOf(tokenId);
        return approvals[tokenId];
    }

    function setApprovalForAll(address operator, bool approved) external {
        operators[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    function isApprovedForAll(address holder, address operator) external view returns (bool) {
        return operators[holder][operator];
    }

    function transferFrom(address from, address to, uint256 tokenId) public {
        address o = ownerOf(tokenId);
        require(o == from, "LicenceNFT: not the holder");
        require(to != address(0), "LicenceNFT: zero address");
        require(
            msg.sender == o || approvals[tokenId] == msg.sender || operators[o][msg.sender],
            "LicenceNFT: not allowed"
        );
        delete approvals[tokenId];
        balances[from] -= 1;
        balances[to] += 1;
        owners[tokenId] = to;
        uint256 l = licenceOf[tokenId];
        licenceBalance[from][l] -= 1;
        licenceBalance[to][l] += 1;
        emit Transfer(from, to, tokenId);
    }

    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        if (to.code.length > 0) {
            (bool ok, bytes memory ret) = to.call(
                abi.encodeWithSelector(0x150b7a02, msg.sender, from, tokenId, data)
            );
            require(ok && ret.length == 32 && abi.decode(ret, (bytes4)) == 0x150b7a02, "LicenceNFT: receiver refused");
        }
    }
}
