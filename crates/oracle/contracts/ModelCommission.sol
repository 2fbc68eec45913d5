// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

interface ILedgerflowOracleTrain {
    function request(bytes32 jobId, bytes calldata params, address callback, bytes4 callbackSelector, uint64 expiry)
        external
        payable
        returns (bytes32);

    function requestModel(
        bytes32 jobId,
        bytes32 modelHash,
        bytes calldata params,
        address callback,
        bytes4 callbackSelector,
        uint64 expiry
    ) external payable returns (bytes32);
}

/// Commissions a model and then uses it: `commission()` asks the oracle to train one on a
/// registered dataset (job `train`, params `abi.encode(bytes32 datasetRoot, string algo,
/// uint256 trees, uint256 seed)`, result `abi.encode(bytes32 modelHash, uint256
/// trainingRows)`); the model the oracle delivers (already in the registry) becomes the
/// current one, and `screen(account)` asks for an account's score with it (job `score`).
/// Accounts scored above the threshold are flagged.
contract ModelCommission {
    address public immutable oracle;
    bytes32 public immutable trainJob;
    bytes32 public immutable scoreJob;
    /// Highest score not flagged (probability × 10^6).
    uint256 public immutable threshold;

    bytes32 public model;
    uint256 public trainingRows;
    mapping(bytes32 => bool) public trainRequests;
    mapping(bytes32 => address) public scoreRequests;
    mapping(address => uint256) public scoreOf;
    mapping(address => bool) public flagged;

    event Commissioned(bytes32 requestId, bytes32 datasetRoot);
    event ModelAdopted(bytes32 indexed modelHash, uint256 trainingRows);
    event ScreeningRequested(address indexed account, bytes32 requestId);
    event Screened(address indexed account, uint256 score, bool flagged);

    constructor(address oracle_, bytes32 trainJob_, bytes32 scoreJob_, uint256 threshold_) {
        oracle = oracle_;
        trainJob = trainJob_;
        scoreJob = scoreJob_;
        threshold = threshold_;
    }

    /// Asks for a model trained on `datasetRoot`; `msg.value` pays the oracle.
    function commission(bytes32 datasetRoot, string calldata algo, uint256 trees, uint256 seed, uint64 expiry)
        external
        payable
        returns (bytes32 requestId)
    {
        requestId = ILedgerflowOracleTrain(oracle).request{value: msg.value}(
            trainJob, abi.encode(datasetRoot, algo, trees, seed), address(this), this.onModel.selector, expiry
        );
        trainRequests[requestId] = true;
        emit Commissioned(requestId, datasetRoot);
    }

    function onModel(bytes32 requestId, bytes calldata result) external {
        require(msg.sender == oracle, "Commission: not the oracle");
        require(trainRequests[requestId], "Commission: unknown request");
        delete trainRequests[requestId];
        (bytes32 m, uint256 rows) = abi.decode(result, (bytes32, uint256));
        model = m;
        trainingRows = rows;
        emit ModelAdopted(m, rows);
    }

    /// Asks for `account`'s score with the current model.
    function screen(address account, uint64 expiry) external payable returns (bytes32 requestId) {
        require(model != bytes32(0), "Commission: no model yet");
        requestId = ILedgerflowOracleTrain(oracle).requestModel{value: msg.value}(
            scoreJob, model, abi.encode(account), address(this), this.onScore.selector, expiry
        );
        scoreRequests[requestId] = account;
        emit ScreeningRequested(account, requestId);
    }

    function onScore(bytes32 requestId, bytes calldata result) external {
        require(msg.sender == oracle, "Commission: not the oracle");
        address account = scoreRequests[requestId];
        require(account != address(0), "Commission: unknown request");
        delete scoreRequests[requestId];
        uint256 score = abi.decode(result, (uint256));
        scoreOf[account] = score;
        flagged[account] = score > threshold;
        emit Screened(account, score, score > threshold);
    }
}
