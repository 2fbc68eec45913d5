// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

interface ILedgerflowOracleModel {
    function requestModel(
        bytes32 jobId,
        bytes32 modelHash,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) external payable returns (bytes32);
}

/// A vault that takes deposits only from addresses a registered model scores at or below
/// a threshold: `screen()` asks the oracle for the caller's score (job `score`, params
/// `abi.encode(address)`, result `abi.encode(uint256 score)`, the probability × 10^6);
/// `deposit()` is refused until the score is in and while it is above the threshold.
contract RiskGatedVault {
    address public immutable oracle;
    bytes32 public immutable jobId;
    bytes32 public immutable modelHash;
    /// Highest accepted score (probability × 10^6).
    uint256 public immutable threshold;

    mapping(bytes32 => address) public pending;
    mapping(address => bool) public screened;
    mapping(address => uint256) public scoreOf;
    mapping(address => uint256) public balanceOf;

    event ScreeningRequested(address indexed account, bytes32 requestId);
    event Screened(address indexed account, uint256 score, bool accepted);
    event Deposited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    constructor(address oracle_, bytes32 jobId_, bytes32 modelHash_, uint256 threshold_) {
        oracle = oracle_;
        jobId = jobId_;
        modelHash = modelHash_;
        threshold = threshold_;
    }

    /// Asks for the caller's score; `msg.value` pays the oracle.
    function screen(uint64 expiry) external payable returns (bytes32 requestId) {
        requestId = ILedgerflowOracleModel(oracle).requestModel{value: msg.value}(
            jobId, modelHash, abi.encode(msg.sender), address(this), this.onScore.selector, expiry
        );
        pending[requestId] = msg.sender;
        emit ScreeningRequested(msg.sender, requestId);
    }

    function onScore(bytes32 requestId, bytes calldata result) external {
        require(msg.sender == oracle, "Vault: not the oracle");
        address account = pending[requestId];
        require(account != address(0), "Vault: unknown request");
        delete pending[requestId];
        uint256 score = abi.decode(result, (uint256));
        screened[account] = true;
        scoreOf[account] = score;
        emit Screened(account, score, score <= threshold);
    }

    function deposit() external payable {
        require(screened[msg.sender], "Vault: not screened");
        require(scoreOf[msg.sender] <= threshold, "Vault: risk score above threshold");
        balanceOf[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    function withdraw(uint256 amount) external {
        require(balanceOf[msg.sender] >= amount, "Vault: balance too low");
        balanceOf[msg.sender] -= amount;
        emit Withdrawn(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        require(ok, "Vault: transfer failed");
    }
}
